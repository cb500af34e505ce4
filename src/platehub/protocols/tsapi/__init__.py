"""TS-API (spec 004), the query-string API of TS-CMS / TS-NVR / TS-LPR."""

"""FF JSON protocol (spec 000): ANPR cameras POST plate events as multipart (`event` + `image`) or JSON."""

"""HTTP push protocol of all-in-one ANPR cameras (spec 001): AlarmInfoPlate results and the
server's Response_AlarmInfoPlate replies, AlarmIoIn, SerialData, TriggerImage, heartbeats and comet polls."""

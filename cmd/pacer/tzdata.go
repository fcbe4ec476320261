package main

// The binary carries its own time zone database, so that a schedule's
// time zone loads in a container without /usr/share/zoneinfo.
import _ "time/tzdata"

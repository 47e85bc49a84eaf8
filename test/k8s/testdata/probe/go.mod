module berth.test/probe

go 1.22

module berth.test/dbweb

go 1.22

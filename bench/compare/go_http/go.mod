module weftcompare/gohttp

go 1.19

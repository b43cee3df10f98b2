module weftcompare

go 1.19

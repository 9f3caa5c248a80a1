test_lease_FAKES := 1

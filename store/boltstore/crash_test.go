package boltstore

func crashChild() bool { return false }

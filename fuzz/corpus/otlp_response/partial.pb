
	bad spans
package comfy

// orEmptyStrings is orEmptySlice for the round-trip checks that state what
// an encoded []string must come back as.
func orEmptyStrings(s []string) []string { return orEmptySlice(s) }

package comfy

import "bytes"

// scanner reads the plain subset of JSON that the fast paths of the
// message codecs accept: objects, strings of printable ASCII without
// escapes, numbers, null. At the first thing outside it, it goes bad and
// stays bad, and the caller falls back to encoding/json.
type scanner struct {
	b   []byte
	i   int
	bad bool
}

func (s *scanner) good() bool { return !s.bad }

func (s *scanner) fail() bool {
	s.bad = true
	return false
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// take skips white space and c, if c is next.
func (s *scanner) take(c byte) bool {
	s.space()
	if s.bad || s.i >= len(s.b) || s.b[s.i] != c {
		return false
	}
	s.i++
	return true
}

// object reads an object, calling member with each key (valid until the
// next read) once the scanner is at its value; member reads the value and
// reports whether all is well.
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.take('{') {
		return s.fail()
	}
	if s.take('}') {
		return true
	}
	for {
		key := s.plain()
		if s.bad || !s.take(':') || !member(key) {
			return s.fail()
		}
		if s.take(',') {
			continue
		}
		if s.take('}') {
			return true
		}
		return s.fail()
	}
}

// str reads a string of printable ASCII without escapes.
func (s *scanner) str() string { return string(s.plain()) }

// plain reads a string of printable ASCII without escapes and returns its
// bytes (the scanner's own).
func (s *scanner) plain() []byte {
	if !s.take('"') {
		s.fail()
		return nil
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1]
		case c == '\\' || c < 0x20 || c > 0x7e:
			s.fail()
			return nil
		}
	}
	s.fail()
	return nil
}

// null reads null, if it is next.
func (s *scanner) null() bool {
	s.space()
	if s.bad || !bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		return false
	}
	s.i += 4
	return true
}

// number reads a JSON number and returns it as written.
func (s *scanner) number() string {
	s.space()
	start := s.i
	s.skip('-')
	switch {
	case s.skip('0'):
	case s.digits() == 0:
		s.fail()
		return ""
	}
	if s.skip('.') && s.digits() == 0 {
		s.fail()
		return ""
	}
	if s.skip('e') || s.skip('E') {
		if !s.skip('+') {
			s.skip('-')
		}
		if s.digits() == 0 {
			s.fail()
			return ""
		}
	}
	return string(s.b[start:s.i])
}

// skip steps over c, if it is next (no white space before it).
func (s *scanner) skip(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// digits steps over decimal digits and says how many.
func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// end reports whether all went well and nothing but white space is left.
func (s *scanner) end() bool {
	s.space()
	return !s.bad && s.i == len(s.b)
}

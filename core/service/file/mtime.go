package file

import "time"

// FormatMtime formats t as the service reports modification times: RFC 3339
// in UTC with nanoseconds (trailing zeros dropped), so a value handed back
// as if_mtime compares exactly.
func FormatMtime(t time.Time) string { return string(appendMtime(make([]byte, 0, 30), t)) }

// appendMtime appends t as FormatMtime writes it, without the time
// package's layout machinery: a listing formats one per entry, and
// time.Format was a fifth of a listing's user time. Years outside
// 0000–9999 go to time.Format.
func appendMtime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		days, rem = days-1, rem+86400
	}
	y, m, d := civil(days)
	if y < 0 || y > 9999 {
		return t.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	b = appendDigits(b, int(y), 4)
	b = append(b, '-')
	b = appendDigits(b, m, 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, int(rem/3600), 2)
	b = append(b, ':')
	b = appendDigits(b, int(rem/60%60), 2)
	b = append(b, ':')
	b = appendDigits(b, int(rem%60), 2)
	if ns := t.Nanosecond(); ns != 0 {
		digits := 9
		for ns%10 == 0 {
			ns, digits = ns/10, digits-1
		}
		b = append(b, '.')
		b = appendDigits(b, ns, digits)
	}
	return append(b, 'Z')
}

// civil returns the proleptic Gregorian date of the day days after
// 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], from March
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// appendDigits appends v, 0 ≤ v, in exactly n decimal digits.
func appendDigits(b []byte, v, n int) []byte {
	var buf [9]byte
	for i := n - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:n]...)
}

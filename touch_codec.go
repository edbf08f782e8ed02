package touchpoint

import (
	"encoding/binary"
	"errors"
	"time"
)

// The stored form of a touch is a version byte followed by fields, each a tag
// byte, a uvarint length and that many bytes. Integers are uvarints or
// zig-zag varints inside their field. A reader skips tags it does not know,
// so fields can be added without rewriting old rows. Tags are never reused.
const touchCodecVersion = 1

const (
	tagStringParam0 = 1 // 1..63: StringParams[tag-1]
	tagKind         = 64
	tagTime         = 65
	tagPID          = 66
	tagCustomSource = 67
	tagIncentivized = 68
	tagRetargeting  = 69
	tagReengagement = 70
	tagClickLB      = 71
	tagViewLB       = 72
	tagExpires      = 73
	tagRedirect     = 74
	tagIP           = 75
	tagUA           = 76
	tagLanguage     = 77
	tagVerdict      = 78
	tagRejected     = 79
	tagNote         = 80
	tagExtra        = 81
	tagOverCap      = 82
	tagCountryCode  = 83
	tagCity         = 84
	tagDevice0      = 96 // 96 + type*3 + form (raw, sha1, md5)
)

var errBadTouchData = errors.New("touch data is malformed")

// AppendBinary appends the stored form of t (everything but ID and App,
// which stores keep in columns) to b.
func (t *Touch) AppendBinary(b []byte) []byte {
	b = append(b, touchCodecVersion)
	b = appendUint(b, tagKind, uint64(t.Kind))
	b = appendTime(b, tagTime, t.Time)
	b = appendStr(b, tagPID, t.PID)
	b = appendBool(b, tagCustomSource, t.CustomSource)
	for i, p := range StringParams {
		b = appendStr(b, byte(tagStringParam0+i), *p.Field(&t.Params))
	}
	if t.Params.Incentivized != nil {
		b = appendUvarint(b, tagIncentivized, boolUint(*t.Params.Incentivized))
	}
	b = appendBool(b, tagRetargeting, t.Params.Retargeting)
	b = appendUint(b, tagReengagement, uint64(t.Params.ReengagementWindow/Hour))
	b = appendUint(b, tagClickLB, uint64(t.Params.ClickLookback/Hour))
	b = appendUint(b, tagViewLB, uint64(t.Params.ViewThroughLookback/Hour))
	if t.Params.Expires != 0 {
		b = appendInt(b, tagExpires, t.Params.Expires)
	}
	if t.Params.Redirect != nil {
		b = appendUvarint(b, tagRedirect, boolUint(*t.Params.Redirect))
	}
	for typ, id := range t.Device {
		base := byte(tagDevice0 + typ*3)
		b = appendStr(b, base, id.Raw)
		b = appendStr(b, base+1, id.SHA1)
		b = appendStr(b, base+2, id.MD5)
	}
	b = appendStr(b, tagIP, t.IP)
	b = appendStr(b, tagUA, t.UA)
	b = appendStr(b, tagLanguage, t.Language)
	b = appendStr(b, tagCountryCode, t.CountryCode)
	b = appendStr(b, tagCity, t.City)
	b = appendUint(b, tagVerdict, uint64(t.Verdict))
	b = appendBool(b, tagRejected, t.Rejected)
	b = appendBool(b, tagOverCap, t.OverCap)
	for _, n := range t.Notes {
		b = append(b, tagNote)
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	for _, p := range t.Extra {
		b = append(b, tagExtra)
		b = binary.AppendUvarint(b, uint64(uvarintLen(uint64(len(p.Key)))+len(p.Key)+len(p.Value)))
		b = binary.AppendUvarint(b, uint64(len(p.Key)))
		b = append(b, p.Key...)
		b = append(b, p.Value...)
	}
	return b
}

// UnmarshalBinary reads the form AppendBinary writes. ID and App are left as
// they are.
func (t *Touch) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != touchCodecVersion {
		return errBadTouchData
	}
	var ferr error
	err := eachField(b[1:], func(tag byte, v []byte) bool {
		switch {
		case tag >= tagStringParam0 && int(tag) < tagStringParam0+len(StringParams):
			*StringParams[tag-tagStringParam0].Field(&t.Params) = string(v)
		case tag >= tagDevice0 && int(tag) < tagDevice0+3*int(NumDeviceIDTypes):
			id := &t.Device[(tag-tagDevice0)/3]
			switch (tag - tagDevice0) % 3 {
			case 0:
				id.Raw = string(v)
			case 1:
				id.SHA1 = string(v)
			case 2:
				id.MD5 = string(v)
			}
		case tag == tagKind:
			t.Kind = TouchKind(uvarint(v))
		case tag == tagTime:
			sec, w := binary.Varint(v)
			if w <= 0 {
				ferr = errBadTouchData
				return false
			}
			nsec, _ := binary.Uvarint(v[w:])
			t.Time = time.Unix(sec, int64(nsec%1e9)).UTC()
		case tag == tagPID:
			t.PID = string(v)
		case tag == tagCustomSource:
			t.CustomSource = uvarint(v) == 1
		case tag == tagIncentivized:
			inc := uvarint(v) == 1
			t.Params.Incentivized = &inc
		case tag == tagRetargeting:
			t.Params.Retargeting = uvarint(v) == 1
		case tag == tagReengagement:
			t.Params.ReengagementWindow = Window(uvarint(v)) * Hour
		case tag == tagClickLB:
			t.Params.ClickLookback = Window(uvarint(v)) * Hour
		case tag == tagViewLB:
			t.Params.ViewThroughLookback = Window(uvarint(v)) * Hour
		case tag == tagExpires:
			t.Params.Expires, _ = binary.Varint(v)
		case tag == tagRedirect:
			r := uvarint(v) == 1
			t.Params.Redirect = &r
		case tag == tagIP:
			t.IP = string(v)
		case tag == tagUA:
			t.UA = string(v)
		case tag == tagLanguage:
			t.Language = string(v)
		case tag == tagCountryCode:
			t.CountryCode = string(v)
		case tag == tagCity:
			t.City = string(v)
		case tag == tagVerdict:
			t.Verdict = Verdict(uvarint(v))
		case tag == tagRejected:
			t.Rejected = uvarint(v) == 1
		case tag == tagOverCap:
			t.OverCap = uvarint(v) == 1
		case tag == tagNote:
			t.Notes = append(t.Notes, string(v))
		case tag == tagExtra:
			kl, w := binary.Uvarint(v)
			if w <= 0 || uint64(len(v)-w) < kl {
				ferr = errBadTouchData
				return false
			}
			t.Extra = append(t.Extra, Param{Key: string(v[w : w+int(kl)]), Value: string(v[w+int(kl):])})
		}
		return true
	})
	if err != nil {
		return err
	}
	return ferr
}

// eachField calls fn with the tag and value of every field of a stored
// touch after the version byte, until fn returns false.
func eachField(b []byte, fn func(tag byte, v []byte) bool) error {
	for len(b) > 0 {
		tag := b[0]
		n, w := binary.Uvarint(b[1:])
		if w <= 0 || uint64(len(b)-1-w) < n {
			return errBadTouchData
		}
		v := b[1+w : 1+w+int(n)]
		b = b[1+w+int(n):]
		if !fn(tag, v) {
			return nil
		}
	}
	return nil
}

func uvarint(b []byte) uint64 {
	x, _ := binary.Uvarint(b)
	return x
}

func boolUint(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func appendStr(b []byte, tag byte, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendUint writes a non-zero x; zero is the default and is left out.
func appendUint(b []byte, tag byte, x uint64) []byte {
	if x == 0 {
		return b
	}
	return appendUvarint(b, tag, x)
}

// appendUvarint writes x, even when it is zero.
func appendUvarint(b []byte, tag byte, x uint64) []byte {
	b = append(b, tag, byte(uvarintLen(x)))
	return binary.AppendUvarint(b, x)
}

func appendBool(b []byte, tag byte, v bool) []byte {
	if !v {
		return b
	}
	return append(b, tag, 1, 1)
}

// appendTime writes Unix seconds and nanoseconds, which hold any time,
// the zero time included.
func appendTime(b []byte, tag byte, t time.Time) []byte {
	sec, nsec := t.Unix(), uint64(t.Nanosecond())
	ux := uint64(sec) << 1
	if sec < 0 {
		ux = ^ux
	}
	b = append(b, tag, byte(uvarintLen(ux)+uvarintLen(nsec)))
	b = binary.AppendVarint(b, sec)
	return binary.AppendUvarint(b, nsec)
}

func appendInt(b []byte, tag byte, x int64) []byte {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	b = append(b, tag, byte(uvarintLen(ux)))
	return binary.AppendVarint(b, x)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

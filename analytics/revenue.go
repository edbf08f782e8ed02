package analytics

import (
	"bytes"
	"math"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// An event's revenue. Amplitude's HTTP API takes it at the top level
// (price, quantity, revenue, productId, revenueType, currency), and the
// SDKs' Revenue classes (TypeScript, Kotlin, Go, amplitude-js) send it
// inside event_properties as $price, $quantity, $revenue, $productId,
// $revenueType and $currency. The stored event carries it at the top level
// either way, so that everything reading revenue (event streams, cohort
// conditions) reads one place:
//
//   - The amount (revenue) comes from the top level when the event sent a
//     top-level price or revenue: price × quantity when price, quantity and
//     revenue are all sent, else revenue, else price × quantity (quantity
//     1 when not sent), as Amplitude's HTTP API documents ("price: required
//     for revenue data if the revenue field isn't sent").
//   - Otherwise from event_properties: $price × $quantity when $price is
//     a number other than 0, else $revenue, else $price × $quantity (0).
//     $quantity counts when it is a positive integer, else the top-level
//     quantity, else 1. The SDKs fill in what the caller did not set, each
//     its own way, and this rule gives what the caller meant with every
//     one: TypeScript sends $price 0 and $quantity 1 and no $revenue when
//     unset (a Revenue with only setRevenue(10) is worth 10, not 0 × 1);
//     Go sends $price 0, $quantity 0 and $revenue 0 (Price 3.5 alone is
//     worth 3.5); Kotlin leaves out what is not set; amplitude-js requires
//     $price. Both price and revenue set: price × quantity, as at the top
//     level.
//   - productId, revenueType and currency are taken member by member: the
//     top-level one when sent, else the $-key unless it is "" (the Go SDK
//     sends "" for what is not set).
//
// The $-keys stay in event_properties as they came. A $price or $revenue
// that is not a finite number, or a $quantity that is not a positive
// integer, counts as not sent (event properties are free-form: it is kept,
// not refused).

// revenueDraft is what an event says of its revenue besides its top-level
// price, quantity and revenue (which the draft holds).
type revenueDraft struct {
	top   uint8 // top* bits: which top-level strings were sent
	props revenueProps
}

// The revenue strings, as bits of revenueDraft.top.
const (
	topProductID uint8 = 1 << iota
	topRevenueType
	topCurrency
)

// revenueProps are the Revenue classes' keys found in event_properties.
type revenueProps struct {
	price, revenue *float64
	quantity       *int64
	// Raw JSON strings, written to the stored form as they are.
	productID, revenueType, currency jsontext.Value
}

// sawTop records a top-level member that may name revenue.
func (r *revenueDraft) sawTop(name string) {
	switch name {
	case "productId":
		r.top |= topProductID
	case "revenueType":
		r.top |= topRevenueType
	case "currency":
		r.top |= topCurrency
	}
}

// revenueKeyPrefix starts every Revenue class key: an object without it is
// not scanned.
var revenueKeyPrefix = []byte(`"$`)

// scanRevenueProps reads the Revenue classes' keys of an event_properties
// object (valid JSON: the decoder read it).
func scanRevenueProps(obj jsontext.Value) revenueProps {
	var p revenueProps
	if !bytes.Contains(obj, revenueKeyPrefix) {
		return p
	}
	dec := jsontext.NewDecoder(bytes.NewReader(obj), decodeOptions...)
	if _, err := dec.ReadToken(); err != nil {
		return p
	}
	for dec.PeekKind() == '"' {
		name, err := readName(dec)
		if err != nil {
			return p
		}
		val, err := dec.ReadValue()
		if err != nil {
			return p
		}
		switch name {
		case "$price":
			p.price = finite(val)
		case "$revenue":
			p.revenue = finite(val)
		case "$quantity":
			p.quantity = nil
			if n, ok := parseInt(val); ok && val.Kind() == '0' && n > 0 {
				p.quantity = &n
			}
		case "$productId":
			p.productID = stringValue(val)
		case "$revenueType":
			p.revenueType = stringValue(val)
		case "$currency":
			p.currency = stringValue(val)
		}
	}
	return p
}

// finite returns a JSON number that float64 holds, else nil.
func finite(val jsontext.Value) *float64 {
	if val.Kind() != '0' {
		return nil
	}
	f, err := strconv.ParseFloat(string(val), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil
	}
	return &f
}

// stringValue returns a JSON string value (cloned) other than "", else
// nil.
func stringValue(val jsontext.Value) jsontext.Value {
	if val.Kind() != '"' || len(val) == 2 {
		return nil
	}
	return bytes.Clone(val)
}

// topRevenue is the amount of an event's top-level revenue members, and
// whether it has one.
func (d *draft) topRevenue() (float64, bool) {
	switch {
	case d.revenue != nil && d.price != nil && d.quantity != nil:
		return *d.price * float64(*d.quantity), true
	case d.revenue != nil:
		return *d.revenue, true
	case d.price != nil:
		return *d.price * float64(quantityOr(d.quantity, nil)), true
	}
	return 0, false
}

// quantityOr is the first quantity given, else 1.
func quantityOr(qs ...*int64) int64 {
	for _, q := range qs {
		if q != nil {
			return *q
		}
	}
	return 1
}

// appendRevenue writes the event's revenue members into its stored form
// (each followed by a comma): revenue, and what the Revenue class keys add
// where the top level is silent.
func (d *draft) appendRevenue(b []byte) []byte {
	p := d.rev.props
	if rev, ok := d.topRevenue(); ok {
		if !math.IsInf(rev, 0) { // refused as an invalid price before
			b = appendNumberMember(b, "revenue", rev)
		}
	} else {
		var rev float64
		ok := true
		switch {
		case p.price != nil && *p.price != 0:
			rev = *p.price * float64(quantityOr(p.quantity, d.quantity))
		case p.revenue != nil:
			rev = *p.revenue
		case p.price != nil:
			rev = 0 // price 0
		default:
			ok = false
		}
		if ok && !math.IsInf(rev, 0) {
			b = appendNumberMember(b, "revenue", rev)
			if p.price != nil {
				b = appendNumberMember(b, "price", *p.price)
			}
			if p.quantity != nil && d.quantity == nil {
				b = append(b, `"quantity":`...)
				b = strconv.AppendInt(b, *p.quantity, 10)
				b = append(b, ',')
			}
		}
	}
	for _, m := range []struct {
		bit  uint8
		name string
		val  jsontext.Value
	}{{topProductID, "productId", p.productID}, {topRevenueType, "revenueType", p.revenueType}, {topCurrency, "currency", p.currency}} {
		if m.val != nil && d.rev.top&m.bit == 0 {
			b = append(b, '"')
			b = append(b, m.name...)
			b = append(b, `":`...)
			b = append(b, m.val...)
			b = append(b, ',')
		}
	}
	return b
}

func appendNumberMember(b []byte, name string, f float64) []byte {
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":`...)
	b = jsontext.AppendFloat(b, f, 64)
	return append(b, ',')
}

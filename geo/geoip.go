// Package geo derives where a request came from and what sent it: a
// country, region and city from its IP address, in a MaxMind DB file the
// operator provides (serve --geoip-db), and an operating system, browser
// and form factor from its User-Agent. The analytics plane fills events'
// location and device fields with them (event.go); the attribution plane
// records the country and city of touches and launches.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Location is what a database says of an address. A field it does not
// know is empty: a Country database has no region or city.
type Location struct {
	// CountryCode is ISO 3166-1 alpha-2 ("US"), as AppsFlyer reports
	// country_code; Country is the English name ("United States"), as
	// Amplitude's events carry country.
	CountryCode string
	Country     string
	Region      string // the first subdivision: a state, a province
	City        string
}

// IsZero reports whether nothing is known.
func (l Location) IsZero() bool { return l == Location{} }

// DB is an open MaxMind DB file of the GeoIP2/GeoLite2 City or Country
// layout (DB-IP's lite databases use the same). It is safe for
// concurrent use. A nil *DB looks nothing up.
type DB struct {
	r    *maxminddb.Reader
	Type string // the file's database_type, as GeoLite2-City
}

// Open opens a database file and checks that it is one whose records
// say a country: a City or Country database (GeoIP2/GeoLite2, GeoIP2
// Enterprise, DB-IP lite). Anything else (an ASN database, a file that
// is not a MaxMind DB) is an error that says what was found.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable MaxMind DB (.mmdb) file: %w", path, err)
	}
	t := r.Metadata.DatabaseType
	if !strings.Contains(t, "City") && !strings.Contains(t, "Country") && !strings.Contains(t, "Enterprise") {
		r.Close()
		return nil, fmt.Errorf("%s is a %q database: want a City or Country one (GeoLite2-City, GeoLite2-Country, GeoIP2-City, DB-IP lite)", path, t)
	}
	db := &DB{r: r, Type: t}
	// One lookup walks the search tree and decodes a record: a file cut
	// short or corrupt fails here, at startup, rather than on requests.
	for _, probe := range []string{"1.1.1.1", "2001:4860:4860::8888"} {
		if _, err := db.lookup(netip.MustParseAddr(probe)); err != nil && !errors.Is(err, errIPv6InIPv4) {
			r.Close()
			return nil, fmt.Errorf("%s: the database is damaged: %w", path, err)
		}
	}
	return db, nil
}

// Close releases the file.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	return db.r.Close()
}

// record is the part of a City or Country record we read: English names
// only, so a lookup decodes one string per name rather than a map of
// every language.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
}

type names struct {
	En string `maxminddb:"en"`
}

var errIPv6InIPv4 = errors.New("an IPv6 address in an IPv4-only database")

// Lookup returns the location of an address given as text (IPv4, IPv6
// or IPv4-mapped IPv6). An address that is not one, is private, or is
// not in the database has no location. The country (registered_country
// aside: that is where the network's owner is, not the device) is the
// only country read.
func (db *DB) Lookup(ip string) Location {
	if db == nil || ip == "" {
		return Location{}
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return Location{}
	}
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return Location{}
	}
	l, _ := db.lookup(a)
	return l
}

func (db *DB) lookup(a netip.Addr) (Location, error) {
	if a.Is6() && db.r.Metadata.IPVersion == 4 {
		return Location{}, errIPv6InIPv4
	}
	var rec record
	res := db.r.Lookup(a)
	if err := res.Err(); err != nil {
		return Location{}, err
	}
	if !res.Found() {
		return Location{}, nil
	}
	if err := res.Decode(&rec); err != nil {
		return Location{}, err
	}
	l := Location{CountryCode: rec.Country.ISOCode, Country: rec.Country.Names.En, City: rec.City.Names.En}
	if len(rec.Subdivisions) > 0 {
		l.Region = rec.Subdivisions[0].Names.En
	}
	return l, nil
}

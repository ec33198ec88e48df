// Writes the small .mmdb databases the geo tests read, with MaxMind's own writer (github.com/maxmind/mmdbwriter):
// a GeoIP2-City-shaped and a GeoLite2-ASN-shaped database (MaxMind's nested record schema) and a flat
// ip-location-db-shaped city database, over a few public networks (test data, not real answers). Usage: go run . <dir>.
package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

func names(en string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(en + " (de)")} }

func write(dir, file, databaseType string, records map[string]mmdbtype.Map) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: databaseType, RecordSize: 24, BuildEpoch: 1_767_225_600, IncludeReservedNetworks: true})
	check(err)
	for cidr, record := range records {
		_, network, err := net.ParseCIDR(cidr)
		check(err)
		check(tree.Insert(network, record))
	}
	out, err := os.Create(filepath.Join(dir, file))
	check(err)
	_, err = tree.WriteTo(out)
	check(err)
	check(out.Close())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	dir := os.Args[1]
	write(dir, "City-Test.mmdb", "GeoIP2-City", map[string]mmdbtype.Map{
		"20.50.0.0/16": {
			"continent":    mmdbtype.Map{"code": mmdbtype.String("EU"), "names": names("Europe")},
			"country":      mmdbtype.Map{"iso_code": mmdbtype.String("NL"), "names": names("Netherlands")},
			"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("NH"), "names": names("North Holland")}},
			"city":         mmdbtype.Map{"names": names("Amsterdam")},
			"location":     mmdbtype.Map{"latitude": mmdbtype.Float64(52.3759), "longitude": mmdbtype.Float64(4.8975), "accuracy_radius": mmdbtype.Uint16(20)},
		},
		// Country-level only: no subdivision, city or location.
		"52.0.0.0/11": {
			"continent": mmdbtype.Map{"code": mmdbtype.String("NA"), "names": names("North America")},
			"country":   mmdbtype.Map{"iso_code": mmdbtype.String("US"), "names": names("United States")},
		},
		"2a01:111::/32": {
			"country": mmdbtype.Map{"iso_code": mmdbtype.String("IE"), "names": names("Ireland")},
		},
		// TEST-NET-1, which the tests' generated blobs use as public destinations: a reserved network, so the real
		// databases leave it out; here it has an answer so those blobs get enriched.
		"192.0.2.0/24": {
			"continent": mmdbtype.Map{"code": mmdbtype.String("AS"), "names": names("Asia")},
			"country":   mmdbtype.Map{"iso_code": mmdbtype.String("JP"), "names": names("Japan")},
		},
	})
	write(dir, "ASN-Test.mmdb", "GeoLite2-ASN", map[string]mmdbtype.Map{
		"20.50.0.0/16":  {"autonomous_system_number": mmdbtype.Uint32(8075), "autonomous_system_organization": mmdbtype.String("MICROSOFT-CORP-MSN-AS-BLOCK")},
		"52.0.0.0/11":   {"autonomous_system_number": mmdbtype.Uint32(16509), "autonomous_system_organization": mmdbtype.String("AMAZON-02")},
		"2a01:111::/32": {"autonomous_system_number": mmdbtype.Uint32(8075)},
	})
	write(dir, "flat-city-Test.mmdb", "city ipv4", map[string]mmdbtype.Map{
		"20.50.0.0/16": {
			"city": mmdbtype.String("Amsterdam"), "country_code": mmdbtype.String("NL"), "state1": mmdbtype.String("North Holland"),
			"latitude": mmdbtype.Float64(52.37), "longitude": mmdbtype.Float64(4.89), "postcode": mmdbtype.String("1012"),
		},
	})
}

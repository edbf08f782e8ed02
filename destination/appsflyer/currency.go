package appsflyer

import "strings"

// currencies are the codes the S2S API takes as eventCurrency: the enum of
// its OpenAPI file (ISO 4217, upper case; afspec's tests keep the two
// equal).
var currencies = map[string]bool{
	"AED": true, "AFN": true, "ALL": true, "AMD": true, "ANG": true, "AOA": true, "ARS": true, "AUD": true,
	"AWG": true, "AZN": true, "BAM": true, "BBD": true, "BDT": true, "BGN": true, "BHD": true, "BIF": true,
	"BMD": true, "BND": true, "BOB": true, "BOV": true, "BRL": true, "BSD": true, "BTN": true, "BWP": true,
	"BYN": true, "BZD": true, "CAD": true, "CDF": true, "CHE": true, "CHF": true, "CHW": true, "CLF": true,
	"CLP": true, "CNY": true, "COP": true, "COU": true, "CRC": true, "CUC": true, "CUP": true, "CVE": true,
	"CZK": true, "DJF": true, "DKK": true, "DOP": true, "DZD": true, "EGP": true, "ERN": true, "ETB": true,
	"EUR": true, "FJD": true, "FKP": true, "GBP": true, "GEL": true, "GHS": true, "GIP": true, "GMD": true,
	"GNF": true, "GTQ": true, "GYD": true, "HKD": true, "HNL": true, "HRK": true, "HTG": true, "HUF": true,
	"IDR": true, "ILS": true, "INR": true, "IQD": true, "IRR": true, "ISK": true, "JMD": true, "JOD": true,
	"JPY": true, "KES": true, "KGS": true, "KHR": true, "KMF": true, "KPW": true, "KRW": true, "KWD": true,
	"KYD": true, "KZT": true, "LAK": true, "LBP": true, "LKR": true, "LRD": true, "LSL": true, "LYD": true,
	"MAD": true, "MDL": true, "MGA": true, "MKD": true, "MMK": true, "MNT": true, "MOP": true, "MRU": true,
	"MUR": true, "MVR": true, "MWK": true, "MXN": true, "MXV": true, "MYR": true, "MZN": true, "NAD": true,
	"NGN": true, "NIO": true, "NOK": true, "NPR": true, "NZD": true, "OMR": true, "PAB": true, "PEN": true,
	"PGK": true, "PHP": true, "PKR": true, "PLN": true, "PYG": true, "QAR": true, "RON": true, "RSD": true,
	"RUB": true, "RWF": true, "SAR": true, "SBD": true, "SCR": true, "SDG": true, "SEK": true, "SGD": true,
	"SHP": true, "SLL": true, "SOS": true, "SRD": true, "SSP": true, "STN": true, "SVC": true, "SYP": true,
	"SZL": true, "THB": true, "TJS": true, "TMT": true, "TND": true, "TOP": true, "TRY": true, "TTD": true,
	"TWD": true, "TZS": true, "UAH": true, "UGX": true, "USD": true, "USN": true, "UYI": true, "UYU": true,
	"UYW": true, "UZS": true, "VES": true, "VND": true, "VUV": true, "WST": true, "XAF": true, "XAG": true,
	"XAU": true, "XBA": true, "XBB": true, "XBC": true, "XBD": true, "XCD": true, "XDR": true, "XOF": true,
	"XPD": true, "XPF": true, "XPT": true, "XSU": true, "XTS": true, "XUA": true, "XXX": true, "YER": true,
	"ZAR": true, "ZMW": true, "ZWL": true,
}

// Currency returns code as the S2S API takes it (trimmed, upper case) and
// whether it is one of its ISO 4217 codes.
func Currency(code string) (string, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	return code, currencies[code]
}

// Currencies returns the codes the S2S API takes, in no order.
func Currencies() []string {
	out := make([]string, 0, len(currencies))
	for c := range currencies {
		out = append(out, c)
	}
	return out
}

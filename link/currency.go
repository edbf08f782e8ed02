package link

// currencies are the ISO-4217 codes of circulating currencies (and the fund
// codes such as BOV or CLF that networks occasionally report). Precious
// metals, bond units and the testing codes XTS/XXX are left out: they are
// never the currency of an ad cost.
var currencies = map[string]bool{}

func init() {
	const codes = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP " +
		"BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD " +
		"FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF " +
		"KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN " +
		"NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP " +
		"SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS " +
		"VED VES VND VUV WST XAF XCD XCG XDR XOF XPF YER ZAR ZMW ZWG ZWL"
	for i := 0; i+3 <= len(codes); i += 4 {
		currencies[codes[i:i+3]] = true
	}
}

// IsCurrency reports whether code is an ISO-4217 currency code (upper case).
func IsCurrency(code string) bool { return currencies[code] }

package httpapi

import (
	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/outbound"
)

// checkOutboundURL applies the outbound rule (package outbound; lifted by
// AllowPrivatePostbackHosts) to a URL a request saves in field. Empty is
// the field left to its default, this server: the one way to name it.
func (s *Server) checkOutboundURL(field, raw string) error {
	if raw == "" {
		return nil
	}
	if err := outbound.CheckURL(raw, s.AllowPrivatePostbackHosts); err != nil {
		return touchpoint.Errorf(touchpoint.EINVALID, "%s %q: %v", field, raw, err)
	}
	return nil
}

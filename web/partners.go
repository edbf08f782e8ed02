package web

func (h *Handler) registerPartnerRoutes(r *routes) {}

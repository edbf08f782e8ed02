package web

func (h *Handler) registerAnalyticsRoutes(r *routes) {}

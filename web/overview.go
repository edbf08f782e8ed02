package web

func (h *Handler) registerOverviewRoutes(r *routes) {}

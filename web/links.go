package web

func (h *Handler) registerLinkRoutes(r *routes) {}

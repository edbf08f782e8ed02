package web

func (h *Handler) registerLiveRoutes(r *routes) {}

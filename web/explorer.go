package web

func (h *Handler) registerExplorerRoutes(r *routes) {}

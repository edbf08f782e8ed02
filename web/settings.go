package web

func (h *Handler) registerSettingsRoutes(r *routes) {}

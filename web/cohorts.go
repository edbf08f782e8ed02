package web

func (h *Handler) registerCohortRoutes(r *routes) {}

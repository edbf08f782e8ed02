package web

func (h *Handler) registerDeliveryRoutes(r *routes) {}

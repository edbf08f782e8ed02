package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The cohort screens: a project's behavioural cohorts, the editor of a
// definition, a cohort's membership and versions, and its syncs to
// AppsFlyer Audiences. A definition is a tree (and, or, not over event,
// user property and first-seen conditions); plain HTML cannot nest forms,
// so the editor shows the common shape, conditions joined by "all" or
// "any", each one negatable, as rows, and the whole tree as the JSON the
// API takes. The server reads whichever was changed and shows both again
// in step.

func (h *Handler) registerCohortRoutes(r *routes) {
	r.page("GET /projects/{project}/cohorts", h.handleCohorts)
	r.page("GET /projects/{project}/cohorts/new", h.handleCohortNew)
	r.page("POST /projects/{project}/cohorts/new", h.handleCohortNewPost)
	r.page("GET /projects/{project}/cohorts/{id}", h.handleCohort)
	r.page("GET /projects/{project}/cohorts/{id}/edit", h.handleCohortEdit)
	r.page("POST /projects/{project}/cohorts/{id}/edit", h.handleCohortEditPost)
	r.page("POST /projects/{project}/cohorts/{id}/compute", h.handleCohortCompute)
	r.page("POST /projects/{project}/cohorts/{id}/delete", h.handleCohortDelete)
	r.page("POST /projects/{project}/cohorts/{id}/syncs", h.handleCohortSyncCreate)
	r.page("POST /projects/{project}/cohorts/{id}/syncs/{sync}", h.handleCohortSyncUpdate)
	r.page("POST /projects/{project}/cohorts/{id}/syncs/{sync}/run", h.handleCohortSyncRun)
	r.page("POST /projects/{project}/cohorts/{id}/syncs/{sync}/delete", h.handleCohortSyncDelete)
	h.registerDestinationRoutes(r)
}

// cohortsPath is the dashboard path of a project's cohorts, or of one of
// them and its pages.
func cohortsPath(p *touchpoint.Project, more ...string) string {
	s := "/projects/" + projectPath(p) + "/cohorts"
	for _, m := range more {
		s += "/" + m
	}
	return s
}

// cohortListItem is one row of the cohort list.
type cohortListItem struct {
	Cohort *touchpoint.Cohort
	Words  string
	Syncs  int
}

// GET /projects/{project}/cohorts
func (h *Handler) handleCohorts(w http.ResponseWriter, r *http.Request, v *View) error {
	ctx := r.Context()
	cs, err := h.Store.ListCohorts(ctx, v.Project.ID)
	if err != nil {
		return err
	}
	syncs, err := h.Store.ListCohortSyncs(ctx, 0)
	if err != nil {
		return err
	}
	perCohort := map[int64]int{}
	for _, s := range syncs {
		perCohort[s.Cohort]++
	}
	items := make([]cohortListItem, len(cs))
	for i, c := range cs {
		items[i] = cohortListItem{Cohort: c, Words: cohortWords(c.Definition), Syncs: perCohort[c.ID]}
	}
	v.Title, v.Section = "Cohorts", "cohorts"
	return v.Render("cohorts", map[string]any{"Cohorts": items, "Base": cohortsPath(v.Project), "Server": h.baseURL(r)})
}

// projectCohort returns the cohort the path names, of the path's project.
func (h *Handler) projectCohort(r *http.Request, v *View) (*touchpoint.Cohort, error) {
	id, err := pathID(r, "id", "cohort")
	if err != nil {
		return nil, err
	}
	c, err := h.Store.FindCohort(r.Context(), id)
	if err == nil && c.Project != v.Project.ID {
		err = touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d is not one of project %s's", id, v.Project.Name)
	}
	return c, err
}

// The editor.

// Row kinds of the editor.
const (
	rowEvent        = "event"
	rowUserProperty = "user_property"
	rowFirstSeen    = "first_seen"
)

func cohortKindOptions(k string) []choice {
	return choices(k, "", "(none: leave this row out)", rowEvent, "Performed an event", rowUserProperty, "Has a user property",
		rowFirstSeen, "First seen")
}

func cohortCountOptions(op string) []choice {
	return choices(op, touchpoint.AtLeast, "at least", touchpoint.AtMost, "at most", touchpoint.Exactly, "exactly")
}

func cohortValueOptions(op string) []choice {
	return choices(op, touchpoint.OpEq, "=", touchpoint.OpNe, "!=", touchpoint.OpContains, "contains",
		touchpoint.OpGt, ">", touchpoint.OpLt, "<", touchpoint.OpIn, "in (a list)")
}

// cohortRow is one condition of the editor: a leaf of the definition,
// negated or not. Fields are the text of the inputs, named P.field.
type cohortRow struct {
	P          string // the inputs' name prefix, c0, c1, …
	N          int    // its number, from 1, for labels and errors
	Kind       string
	Not        bool
	EventType  string
	CountOp    string
	Count      string
	WithinDays string
	From, To   string
	Property   string
	Op         string
	Value      string
	Where      []cohortWhere

	KindOpts, CountOpts, OpOpts []choice
}

// cohortWhere is one event-property condition of an event row.
type cohortWhere struct {
	P               string // c0w0, c0w1, …
	N               int
	Property, Value string
	Op              string
	OpOpts          []choice
}

// cohortForm is the editor's state: the fields as sent, the definition as
// rows and as JSON, and a preview when one was asked for.
type cohortForm struct {
	Action      string // where the form posts
	Cancel      string // where "cancel" goes
	Name        string
	Description string
	// Any joins the rows with or; otherwise with and.
	Any  bool
	Rows []cohortRow
	// JSON is the definition as the textarea shows it; JSONWas as it was
	// drawn, to tell whether it was edited.
	JSON    string
	JSONWas string
	// JSONOnly: the definition nests deeper than rows can show.
	JSONOnly bool
	Preview  *cohortPreviewView
	Cohort   *touchpoint.Cohort // the cohort edited; nil for a new one
	Users    string             // the path of the project's users
	Note     string             // what the server did with the input
}

// cohortPreviewView is a preview's size and sample, as links.
type cohortPreviewView struct {
	Size   int64
	Sample []int64
}

// newCohortForm is the editor of a new cohort: one event row to start
// from.
func newCohortForm(p *touchpoint.Project) *cohortForm {
	f := &cohortForm{Action: cohortsPath(p, "new"), Cancel: cohortsPath(p), Users: "/projects/" + projectPath(p) + "/users/"}
	f.setDefinition(touchpoint.Condition{Event: &touchpoint.EventCondition{Op: touchpoint.AtLeast, Count: 1,
		TimeRange: touchpoint.TimeRange{WithinDays: 30}}})
	return f
}

// editCohortForm is the editor of a stored cohort.
func editCohortForm(p *touchpoint.Project, c *touchpoint.Cohort) *cohortForm {
	id := strconv.FormatInt(c.ID, 10)
	f := &cohortForm{Action: cohortsPath(p, id, "edit"), Cancel: cohortsPath(p, id), Users: "/projects/" + projectPath(p) + "/users/",
		Name: c.Name, Description: c.Description, Cohort: c}
	f.setDefinition(c.Definition)
	return f
}

// setDefinition shows def as JSON, and as rows when they can hold it.
func (f *cohortForm) setDefinition(def touchpoint.Condition) {
	f.JSON = prettyJSON(def)
	f.JSONWas = f.JSON
	rows, or, ok := cohortRowsOf(def)
	f.JSONOnly = !ok
	if ok {
		f.Rows = rows
		if len(rows) > 1 {
			f.Any = or
		}
	} else {
		f.Rows = nil
	}
	f.finish()
}

// finish numbers the rows, adds a blank row (and a blank event-property
// condition to each row) to fill in, and fills the selects.
func (f *cohortForm) finish() {
	if !f.JSONOnly && len(f.Rows) < touchpoint.MaxConditionLeaves {
		f.Rows = append(f.Rows, cohortRow{CountOp: touchpoint.AtLeast, Count: "1", Op: touchpoint.OpEq})
	}
	for i := range f.Rows {
		row := &f.Rows[i]
		row.P, row.N = "c"+strconv.Itoa(i), i+1
		row.Where = append(row.Where, cohortWhere{Op: touchpoint.OpEq})
		for j := range row.Where {
			w := &row.Where[j]
			w.P, w.N = row.P+"w"+strconv.Itoa(j), j+1
			w.OpOpts = cohortValueOptions(w.Op)
		}
		row.KindOpts, row.CountOpts, row.OpOpts = cohortKindOptions(row.Kind), cohortCountOptions(row.CountOp), cohortValueOptions(row.Op)
	}
}

// maxFormRows bounds the rows (and event-property conditions of a row)
// read from a form.
const maxFormRows = touchpoint.MaxConditionLeaves + 1

// readCohortForm reads the editor's fields as sent. Blank rows and
// blank event-property conditions are left out.
func readCohortForm(r *http.Request, f *cohortForm) (rowsSent bool) {
	get := func(k string) string { return r.PostFormValue(k) }
	f.Name, f.Description = strings.TrimSpace(get("name")), get("description")
	f.Any = get("join") == "or"
	// Browsers send a textarea's line breaks as CRLF.
	crlf := strings.NewReplacer("\r\n", "\n")
	f.JSON, f.JSONWas = crlf.Replace(get("definition_json")), crlf.Replace(get("json_was"))
	f.Rows = nil
	for i := 0; i < maxFormRows; i++ {
		p := "c" + strconv.Itoa(i)
		if _, ok := r.PostForm[p+".kind"]; !ok {
			break
		}
		rowsSent = true
		row := cohortRow{Kind: get(p + ".kind"), Not: get(p+".not") != "", EventType: get(p + ".event_type"),
			CountOp: get(p + ".count_op"), Count: strings.TrimSpace(get(p + ".count")), WithinDays: strings.TrimSpace(get(p + ".within_days")),
			From: strings.TrimSpace(get(p + ".from")), To: strings.TrimSpace(get(p + ".to")), Property: get(p + ".property"),
			Op: get(p + ".op"), Value: get(p + ".value")}
		for j := 0; j < maxFormRows; j++ {
			wp := p + "w" + strconv.Itoa(j)
			if _, ok := r.PostForm[wp+".property"]; !ok {
				break
			}
			w := cohortWhere{Property: get(wp + ".property"), Op: get(wp + ".op"), Value: get(wp + ".value")}
			if strings.TrimSpace(w.Property) == "" && strings.TrimSpace(w.Value) == "" {
				continue
			}
			row.Where = append(row.Where, w)
		}
		if row.Kind == "" {
			continue
		}
		f.Rows = append(f.Rows, row)
	}
	f.JSONOnly = !rowsSent
	return rowsSent
}

// definition reads the definition the form holds: its JSON when that was
// edited (or is all there is), else its rows. The form then shows the
// definition read, both ways. A definition that cannot be read is
// refused in words, the form left as it was sent.
func (f *cohortForm) definition(rowsSent bool) (touchpoint.Condition, error) {
	jsonEdited := strings.TrimSpace(f.JSON) != "" && (!rowsSent || strings.TrimSpace(f.JSON) != strings.TrimSpace(f.JSONWas))
	if jsonEdited {
		def, err := parseCohortJSON(f.JSON)
		if err != nil {
			f.JSONOnly = !rowsSent
			f.finish()
			return def, err
		}
		if rowsSent {
			if fromRows, err := f.rowsDefinition(); err == nil && prettyJSON(fromRows) != strings.TrimSpace(f.JSONWas) {
				f.Note = "Both the rows and the JSON were changed: the JSON was used."
			}
		}
		f.setDefinition(def)
		return def, nil
	}
	def, err := f.rowsDefinition()
	if err != nil {
		f.finish()
		return def, err
	}
	f.setDefinition(def)
	return def, nil
}

// parseCohortJSON reads a definition as the API does: one JSON object,
// no unknown fields.
func parseCohortJSON(s string) (touchpoint.Condition, error) {
	var def touchpoint.Condition
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&def); err != nil {
		return def, touchpoint.Errorf(touchpoint.EINVALID, "the definition JSON is not valid: %v", err)
	}
	if dec.More() {
		return def, touchpoint.Errorf(touchpoint.EINVALID, "the definition JSON holds more than one JSON value")
	}
	return def, nil
}

// rowsDefinition builds the definition the rows say: one row is its
// condition, more are joined by and (all) or or (any).
func (f *cohortForm) rowsDefinition() (touchpoint.Condition, error) {
	var list []touchpoint.Condition
	for i := range f.Rows {
		c, err := f.Rows[i].condition(i + 1)
		if err != nil {
			return touchpoint.Condition{}, err
		}
		list = append(list, c)
	}
	switch {
	case len(list) == 0:
		return touchpoint.Condition{}, touchpoint.Errorf(touchpoint.EINVALID,
			"the definition has no condition: choose what a row tests (an event, a user property or the first seen day), or write the definition as JSON")
	case len(list) == 1:
		return list[0], nil
	case f.Any:
		return touchpoint.Condition{Or: list}, nil
	}
	return touchpoint.Condition{And: list}, nil
}

// condition is the row's condition; n names the row in errors.
func (row *cohortRow) condition(n int) (touchpoint.Condition, error) {
	var c touchpoint.Condition
	what := "condition " + strconv.Itoa(n)
	switch row.Kind {
	case rowEvent:
		if row.Count == "" {
			return c, touchpoint.Errorf(touchpoint.EINVALID, "%s: count is required: how many times the event was performed", what)
		}
		count, err := strconv.ParseInt(row.Count, 10, 64)
		if err != nil {
			return c, touchpoint.Errorf(touchpoint.EINVALID, "%s: count %q is not a whole number", what, row.Count)
		}
		tr, err := row.timeRange(what)
		if err != nil {
			return c, err
		}
		e := &touchpoint.EventCondition{EventType: strings.TrimSpace(row.EventType), Op: row.CountOp, Count: count, TimeRange: tr}
		for j, w := range row.Where {
			vc, err := cohortValueCondition(w.Property, w.Op, w.Value, fmt.Sprintf("%s, event property condition %d", what, j+1))
			if err != nil {
				return c, err
			}
			e.Where = append(e.Where, vc)
		}
		c.Event = e
	case rowUserProperty:
		vc, err := cohortValueCondition(row.Property, row.Op, row.Value, what)
		if err != nil {
			return c, err
		}
		c.UserProperty = &vc
	case rowFirstSeen:
		tr, err := row.timeRange(what)
		if err != nil {
			return c, err
		}
		c.FirstSeen = &tr
	default:
		return c, touchpoint.Errorf(touchpoint.EINVALID, "%s: %q is not a kind of condition: want an event, a user property or first seen", what, row.Kind)
	}
	if row.Not {
		inner := c
		c = touchpoint.Condition{Not: &inner}
	}
	return c, nil
}

// timeRange reads a row's window: the last N days, or a range of days.
func (row *cohortRow) timeRange(what string) (touchpoint.TimeRange, error) {
	tr := touchpoint.TimeRange{From: row.From, To: row.To}
	if row.WithinDays != "" {
		n, err := strconv.Atoi(row.WithinDays)
		if err != nil {
			return tr, touchpoint.Errorf(touchpoint.EINVALID, "%s: \"in the last\" %q is not a whole number of days", what, row.WithinDays)
		}
		tr.WithinDays = n
	}
	return tr, nil
}

// cohortValueCondition reads a value condition: the value (or, for in,
// the list) as cohortParseValue reads it.
func cohortValueCondition(property, op, value, what string) (touchpoint.ValueCondition, error) {
	vc := touchpoint.ValueCondition{Property: strings.TrimSpace(property), Op: op}
	if op != touchpoint.OpIn {
		vc.Value = cohortParseValue(value)
		return vc, nil
	}
	t := strings.TrimSpace(value)
	if strings.HasPrefix(t, "[") {
		if err := json.Unmarshal([]byte(t), &vc.Values); err != nil {
			return vc, touchpoint.Errorf(touchpoint.EINVALID, "%s: the list %s is not a JSON array: %v", what, t, err)
		}
		return vc, nil
	}
	for _, item := range strings.Split(t, ",") {
		if item = strings.TrimSpace(item); item != "" {
			vc.Values = append(vc.Values, cohortParseValue(item))
		}
	}
	return vc, nil
}

// cohortParseValue reads a value as typed: a JSON number, true, false or
// a quoted JSON string is that value; anything else is the text itself,
// without its surrounding spaces. So 5 is the number 5, and "5" the text.
func cohortParseValue(s string) any {
	t := strings.TrimSpace(s)
	var x any
	if err := json.Unmarshal([]byte(t), &x); err == nil {
		switch x.(type) {
		case string, float64, bool:
			return x
		}
	}
	return t
}

// cohortValueText writes a value so that cohortParseValue reads it back
// the same.
func cohortValueText(x any) string {
	if s, ok := x.(string); ok {
		if cohortParseValue(s) == any(s) {
			return s
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	if x == nil {
		return ""
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// cohortValuesText writes an in list: comma-separated, or as a JSON array
// when an item holds a comma.
func cohortValuesText(xs []any) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = cohortValueText(x)
		if strings.Contains(parts[i], ",") || parts[i] == "" || strings.HasPrefix(parts[i], "[") {
			b, _ := json.Marshal(xs)
			return string(b)
		}
	}
	return strings.Join(parts, ", ")
}

// cohortScalar reports whether a value can be typed in a row.
func cohortScalar(x any) bool {
	switch x.(type) {
	case string, float64, bool:
		return true
	}
	return false
}

// cohortRowsOf shows a definition as rows: a condition (negated or not),
// or an and or or of two or more of them. ok is false when it nests
// deeper, or holds what a row cannot (a malformed node, a value that is
// not a string, number or boolean).
func cohortRowsOf(def touchpoint.Condition) (rows []cohortRow, or bool, ok bool) {
	list := []touchpoint.Condition{def}
	switch {
	case def.And != nil && def.Or == nil && def.Not == nil && cohortLeaves(def) == 0:
		list = def.And
	case def.Or != nil && def.And == nil && def.Not == nil && cohortLeaves(def) == 0:
		list, or = def.Or, true
	}
	if (def.And != nil || def.Or != nil) && len(list) < 2 {
		return nil, false, false
	}
	for _, c := range list {
		row, ok := cohortRowOf(c)
		if !ok {
			return nil, false, false
		}
		rows = append(rows, row)
	}
	return rows, or, true
}

// cohortLeaves counts the leaf fields set on a node.
func cohortLeaves(c touchpoint.Condition) int {
	n := 0
	for _, set := range []bool{c.Event != nil, c.UserProperty != nil, c.FirstSeen != nil} {
		if set {
			n++
		}
	}
	return n
}

// cohortRowOf shows one condition, negated or not, as a row.
func cohortRowOf(c touchpoint.Condition) (cohortRow, bool) {
	var row cohortRow
	if c.Not != nil && c.And == nil && c.Or == nil && cohortLeaves(c) == 0 {
		row.Not, c = true, *c.Not
	}
	if c.And != nil || c.Or != nil || c.Not != nil || cohortLeaves(c) != 1 {
		return row, false
	}
	window := func(tr touchpoint.TimeRange) {
		if tr.WithinDays != 0 {
			row.WithinDays = strconv.Itoa(tr.WithinDays)
		}
		row.From, row.To = tr.From, tr.To
	}
	row.CountOp, row.Count, row.Op = touchpoint.AtLeast, "1", touchpoint.OpEq
	switch {
	case c.Event != nil:
		e := c.Event
		row.Kind, row.EventType, row.CountOp, row.Count = rowEvent, e.EventType, e.Op, strconv.FormatInt(e.Count, 10)
		window(e.TimeRange)
		for _, w := range e.Where {
			text, ok := cohortValueConditionText(w)
			if !ok {
				return row, false
			}
			row.Where = append(row.Where, cohortWhere{Property: w.Property, Op: w.Op, Value: text})
		}
	case c.UserProperty != nil:
		text, ok := cohortValueConditionText(*c.UserProperty)
		if !ok {
			return row, false
		}
		row.Kind, row.Property, row.Op, row.Value = rowUserProperty, c.UserProperty.Property, c.UserProperty.Op, text
	default:
		row.Kind = rowFirstSeen
		window(*c.FirstSeen)
	}
	return row, true
}

// cohortValueConditionText is the text of a value condition's value (or
// list), when a row can hold it: a row holds a value or a list, not both.
func cohortValueConditionText(vc touchpoint.ValueCondition) (string, bool) {
	if vc.Op == touchpoint.OpIn {
		if vc.Value != nil || slices.ContainsFunc(vc.Values, func(x any) bool { return !cohortScalar(x) }) {
			return "", false
		}
		return cohortValuesText(vc.Values), true
	}
	if len(vc.Values) > 0 || !cohortScalar(vc.Value) {
		return "", false
	}
	return cohortValueText(vc.Value), true
}

// cohortWords says a definition in words, for lists and versions.
func cohortWords(c touchpoint.Condition) string {
	group := func(list []touchpoint.Condition, join string) string {
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = cohortWords(x)
			if x.And != nil || x.Or != nil {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, join)
	}
	switch {
	case c.And != nil:
		return group(c.And, " and ")
	case c.Or != nil:
		return group(c.Or, " or ")
	case c.Not != nil:
		return "not (" + cohortWords(*c.Not) + ")"
	case c.Event != nil:
		e := c.Event
		times := "times"
		if e.Count == 1 {
			times = "time"
		}
		s := fmt.Sprintf("performed %q %s %d %s %s", e.EventType, strings.ReplaceAll(e.Op, "_", " "), e.Count, times, cohortRangeWords(e.TimeRange))
		if len(e.Where) > 0 {
			parts := make([]string, len(e.Where))
			for i, w := range e.Where {
				parts[i] = cohortValueWords(w)
			}
			s += " where " + strings.Join(parts, " and ")
		}
		return s
	case c.UserProperty != nil:
		return "user property " + cohortValueWords(*c.UserProperty)
	case c.FirstSeen != nil:
		return "first seen " + cohortRangeWords(*c.FirstSeen)
	}
	return "(empty)"
}

func cohortRangeWords(tr touchpoint.TimeRange) string {
	if tr.WithinDays > 0 {
		return fmt.Sprintf("in the last %d days", tr.WithinDays)
	}
	return fmt.Sprintf("from %s to %s", tr.From, tr.To)
}

func cohortValueWords(vc touchpoint.ValueCondition) string {
	if vc.Op == touchpoint.OpIn {
		return fmt.Sprintf("%q in [%s]", vc.Property, cohortValuesText(vc.Values))
	}
	return fmt.Sprintf("%q %s %s", vc.Property, vc.Op, cohortValueText(vc.Value))
}

// The editor's pages.

// GET /projects/{project}/cohorts/new
func (h *Handler) handleCohortNew(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title, v.Section = "New cohort", "cohorts"
	return v.Render("cohort_form", newCohortForm(v.Project))
}

// POST /projects/{project}/cohorts/new: preview or create.
func (h *Handler) handleCohortNewPost(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title, v.Section = "New cohort", "cohorts"
	f := newCohortForm(v.Project)
	return h.postCohortForm(w, r, v, f, func(def touchpoint.Condition) (*touchpoint.Cohort, error) {
		c := &touchpoint.Cohort{Project: v.Project.ID, Name: f.Name, Description: f.Description, Definition: def}
		return c, h.Store.CreateCohort(r.Context(), c)
	})
}

// GET /projects/{project}/cohorts/{id}/edit
func (h *Handler) handleCohortEdit(w http.ResponseWriter, r *http.Request, v *View) error {
	c, err := h.projectCohort(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Section = "Edit "+c.Name, "cohorts"
	return v.Render("cohort_form", editCohortForm(v.Project, c))
}

// POST /projects/{project}/cohorts/{id}/edit: preview or save (a new
// definition is a new version).
func (h *Handler) handleCohortEditPost(w http.ResponseWriter, r *http.Request, v *View) error {
	c, err := h.projectCohort(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Section = "Edit "+c.Name, "cohorts"
	f := editCohortForm(v.Project, c)
	return h.postCohortForm(w, r, v, f, func(def touchpoint.Condition) (*touchpoint.Cohort, error) {
		return h.Store.UpdateCohort(r.Context(), c.ID, touchpoint.CohortUpdate{Name: &f.Name, Description: &f.Description, Definition: &def})
	})
}

// postCohortForm reads the editor and previews the definition, or saves
// it with save and goes to the cohort's page. A refused form is shown
// again, as sent, with the error.
func (h *Handler) postCohortForm(w http.ResponseWriter, r *http.Request, v *View, f *cohortForm,
	save func(touchpoint.Condition) (*touchpoint.Cohort, error)) error {
	def, err := f.definition(readCohortForm(r, f))
	if err == nil {
		switch r.PostFormValue("action") {
		case "save":
			var c *touchpoint.Cohort
			if c, err = save(def); err == nil {
				return redirect(w, r, cohortsPath(v.Project, strconv.FormatInt(c.ID, 10)), "Cohort "+c.Name+" saved (version "+strconv.Itoa(c.Version)+").")
			}
		default:
			var p *touchpoint.CohortPreview
			if p, err = h.Service().PreviewCohort(r.Context(), v.Project.ID, def, cohortPreviewSample); err == nil {
				f.Preview = &cohortPreviewView{Size: p.Size, Sample: p.Sample}
			}
		}
	}
	if err != nil {
		v.Fail(err)
	}
	return v.Render("cohort_form", f)
}

// cohortPreviewSample is how many members a preview shows.
const cohortPreviewSample = 50

// The cohort's page.

// cohortSyncView is one sync on the cohort's page.
type cohortSyncView struct {
	Sync        *touchpoint.CohortSync
	Destination *touchpoint.Destination // nil if it is gone
	Runs        []*touchpoint.SyncRun
	CadenceOpts []choice
	Path        string
}

// cohortSyncForm is the form that creates a sync.
type cohortSyncForm struct {
	Destination  string // the id chosen
	Destinations []choice
	Cadences     []choice
	BatchSize    string
	Enabled      bool
}

func cohortCadenceOptions(c string) []choice {
	return choices(c, touchpoint.CadenceOnce, "once", touchpoint.CadenceMinute, "every minute",
		touchpoint.CadenceHourly, "hourly", touchpoint.CadenceDaily, "daily")
}

// GET /projects/{project}/cohorts/{id}
func (h *Handler) handleCohort(w http.ResponseWriter, r *http.Request, v *View) error {
	c, err := h.projectCohort(r, v)
	if err != nil {
		return err
	}
	return h.renderCohort(r, v, c, nil)
}

// renderCohort draws a cohort's page; form is the sync form as sent (nil:
// a blank one).
func (h *Handler) renderCohort(r *http.Request, v *View, c *touchpoint.Cohort, form *cohortSyncForm) error {
	ctx := r.Context()
	versions, err := h.Store.CohortVersions(ctx, c.ID)
	if err != nil {
		return err
	}
	slices.Reverse(versions) // newest first
	var members []touchpoint.CohortMember
	if c.ComputedAt != nil {
		if members, err = h.Store.CohortMembers(ctx, c.ID, 0, cohortMemberSample); err != nil {
			return err
		}
	}
	dests, err := h.Store.ListDestinations(ctx, v.Project.ID)
	if err != nil {
		return err
	}
	syncs, err := h.Store.ListCohortSyncs(ctx, c.ID)
	if err != nil {
		return err
	}
	base := cohortsPath(v.Project, strconv.FormatInt(c.ID, 10))
	var sv []cohortSyncView
	for _, s := range syncs {
		runs, err := h.Store.SyncRuns(ctx, s.ID, 10)
		if err != nil {
			return err
		}
		one := cohortSyncView{Sync: s, Runs: runs, CadenceOpts: cohortCadenceOptions(s.Cadence), Path: base + "/syncs/" + strconv.FormatInt(s.ID, 10)}
		for _, d := range dests {
			if d.ID == s.Destination {
				one.Destination = d
			}
		}
		sv = append(sv, one)
	}
	if form == nil {
		form = &cohortSyncForm{Cadences: cohortCadenceOptions(touchpoint.CadenceDaily), BatchSize: strconv.Itoa(touchpoint.DefaultSyncBatch), Enabled: true}
	}
	form.Destinations = nil
	for _, d := range dests {
		if d.Kind == touchpoint.DestinationAppsFlyerCohort {
			id := strconv.FormatInt(d.ID, 10)
			form.Destinations = append(form.Destinations, choice{Value: id,
				Label: fmt.Sprintf("%s (%s, %s, %s)", d.Name, d.AppsFlyerAppID, d.Platform, d.Identifier), Selected: id == form.Destination})
		}
	}
	v.Title, v.Section = c.Name, "cohorts"
	return v.Render("cohort", map[string]any{
		"Cohort": c, "Words": cohortWords(c.Definition), "Versions": cohortVersionViews(versions), "Members": members,
		"Syncs": sv, "SyncForm": form, "Base": base, "List": cohortsPath(v.Project),
		"Users":        "/projects/" + projectPath(v.Project) + "/users/",
		"Destinations": "/projects/" + projectPath(v.Project) + "/destinations",
		"MemberSample": cohortMemberSample,
		"Server":       h.baseURL(r),
	})
}

// cohortMemberSample is how many members the cohort's page lists.
const cohortMemberSample = 20

// cohortVersionView is a version with its definition in words.
type cohortVersionView struct {
	*touchpoint.CohortVersion
	Words string
}

func cohortVersionViews(vs []*touchpoint.CohortVersion) []cohortVersionView {
	out := make([]cohortVersionView, len(vs))
	for i, x := range vs {
		out[i] = cohortVersionView{CohortVersion: x, Words: cohortWords(x.Definition)}
	}
	return out
}

// POST /projects/{project}/cohorts/{id}/compute
func (h *Handler) handleCohortCompute(w http.ResponseWriter, r *http.Request, v *View) error {
	c, err := h.projectCohort(r, v)
	if err != nil {
		return err
	}
	m, err := h.Service().ComputeCohort(r.Context(), c)
	if err != nil {
		v.Fail(err)
		return h.renderCohort(r, v, c, nil)
	}
	return redirect(w, r, cohortsPath(v.Project, strconv.FormatInt(c.ID, 10)), fmt.Sprintf(
		"Computed: %d members; %d entered and %d left since the last computation (%s).", m.Size, len(m.Entered), len(m.Left),
		m.Took.Round(time.Millisecond)))
}

// POST /projects/{project}/cohorts/{id}/delete
func (h *Handler) handleCohortDelete(w http.ResponseWriter, r *http.Request, v *View) error {
	c, err := h.projectCohort(r, v)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteCohort(r.Context(), c.ID); err != nil {
		v.Fail(err)
		return h.renderCohort(r, v, c, nil)
	}
	return redirect(w, r, cohortsPath(v.Project), "Cohort "+c.Name+" deleted, with its membership and syncs.")
}

// POST /projects/{project}/cohorts/{id}/syncs
func (h *Handler) handleCohortSyncCreate(w http.ResponseWriter, r *http.Request, v *View) error {
	c, err := h.projectCohort(r, v)
	if err != nil {
		return err
	}
	form := &cohortSyncForm{Cadences: cohortCadenceOptions(r.PostFormValue("cadence")), BatchSize: strings.TrimSpace(r.PostFormValue("batch_size")),
		Enabled: r.PostFormValue("enabled") != "", Destination: r.PostFormValue("destination_id")}
	s := &touchpoint.CohortSync{Cohort: c.ID, Cadence: r.PostFormValue("cadence"), Enabled: form.Enabled}
	err = cohortFormInt(r.PostFormValue("destination_id"), "destination", &s.Destination)
	if err == nil && form.BatchSize != "" {
		var n int64
		err = cohortFormInt(form.BatchSize, "batch size", &n)
		s.BatchSize = int(n)
	}
	if err == nil {
		err = h.Service().CreateCohortSync(r.Context(), s)
	}
	if err != nil {
		v.Fail(err)
		return h.renderCohort(r, v, c, form)
	}
	return redirect(w, r, cohortsPath(v.Project, strconv.FormatInt(c.ID, 10)), fmt.Sprintf("Sync %d created: it runs %s.", s.ID, cadenceWords(s)))
}

// cadenceWords says when a sync runs.
func cadenceWords(s *touchpoint.CohortSync) string {
	if !s.Enabled {
		return "only when run by hand (it is disabled)"
	}
	if s.Cadence == touchpoint.CadenceOnce {
		return "once, now"
	}
	return map[string]string{touchpoint.CadenceMinute: "every minute", touchpoint.CadenceHourly: "every hour",
		touchpoint.CadenceDaily: "every day"}[s.Cadence] + ", first now"
}

// cohortFormInt reads a whole number a form sent; what names it in the
// error.
func cohortFormInt(s, what string, out *int64) error {
	if strings.TrimSpace(s) == "" {
		return touchpoint.Errorf(touchpoint.EINVALID, "%s is required", what)
	}
	n, err := wholeNumber(what, s)
	if err != nil {
		return err
	}
	*out = n
	return nil
}

// cohortSync returns the sync the path names, of the cohort.
func (h *Handler) cohortSync(r *http.Request, c *touchpoint.Cohort) (*touchpoint.CohortSync, error) {
	id, err := pathID(r, "sync", "sync")
	if err != nil {
		return nil, err
	}
	s, err := h.Store.FindCohortSync(r.Context(), id)
	if err == nil && s.Cohort != c.ID {
		err = touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %s has no sync %d", c.Name, id)
	}
	return s, err
}

// cohortAndSync reads the path's cohort and sync.
func (h *Handler) cohortAndSync(r *http.Request, v *View) (*touchpoint.Cohort, *touchpoint.CohortSync, error) {
	c, err := h.projectCohort(r, v)
	if err != nil {
		return nil, nil, err
	}
	s, err := h.cohortSync(r, c)
	return c, s, err
}

// POST /projects/{project}/cohorts/{id}/syncs/{sync}: change its cadence,
// batch size, or whether it runs on its own.
func (h *Handler) handleCohortSyncUpdate(w http.ResponseWriter, r *http.Request, v *View) error {
	c, s, err := h.cohortAndSync(r, v)
	if err != nil {
		return err
	}
	cadence, enabled := r.PostFormValue("cadence"), r.PostFormValue("enabled") != ""
	var batch int64
	err = cohortFormInt(r.PostFormValue("batch_size"), "batch size", &batch)
	if err == nil {
		b := int(batch)
		_, err = h.Service().UpdateCohortSync(r.Context(), s.ID, touchpoint.CohortSyncUpdate{Cadence: &cadence, BatchSize: &b, Enabled: &enabled})
	}
	if err != nil {
		v.Fail(err)
		return h.renderCohort(r, v, c, nil)
	}
	return redirect(w, r, cohortsPath(v.Project, strconv.FormatInt(c.ID, 10)), fmt.Sprintf("Sync %d saved.", s.ID))
}

// POST /projects/{project}/cohorts/{id}/syncs/{sync}/run: run now,
// whatever the cadence, and say how it went.
func (h *Handler) handleCohortSyncRun(w http.ResponseWriter, r *http.Request, v *View) error {
	c, s, err := h.cohortAndSync(r, v)
	if err != nil {
		return err
	}
	run, err := h.Service().RunCohortSync(r.Context(), s.ID)
	if err != nil {
		v.Fail(err)
		return h.renderCohort(r, v, c, nil)
	}
	msg := fmt.Sprintf("Sync %d ran: %s; %d members, %d added, %d removed, %d skipped, %d failed.", s.ID, run.Status, run.Size,
		run.Added, run.Removed, run.Skipped, run.Failed)
	if run.Error != "" {
		msg += " " + run.Error
	}
	return redirect(w, r, cohortsPath(v.Project, strconv.FormatInt(c.ID, 10)), msg)
}

// POST /projects/{project}/cohorts/{id}/syncs/{sync}/delete
func (h *Handler) handleCohortSyncDelete(w http.ResponseWriter, r *http.Request, v *View) error {
	c, s, err := h.cohortAndSync(r, v)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteCohortSync(r.Context(), s.ID); err != nil {
		v.Fail(err)
		return h.renderCohort(r, v, c, nil)
	}
	return redirect(w, r, cohortsPath(v.Project, strconv.FormatInt(c.ID, 10)), fmt.Sprintf("Sync %d deleted, with its runs; the audience stays in AppsFlyer.", s.ID))
}

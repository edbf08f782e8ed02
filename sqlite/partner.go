package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.PartnerStore = (*DB)(nil)

const partnerColumns = `a.id, p.pid, p.click_signing, p.click_lookback, p.view_through_lookback, p.probabilistic_window,
	p.allow_ip_ua, p.restricted, p.daily_click_cap, p.send_all_installs, p.in_app_window, p.postback_retries,
	p.postback_retry_minutes, p.postbacks, p.created_at, p.updated_at`

// CreatePartner stores a partner of an app.
func (db *DB) CreatePartner(ctx context.Context, p *touchpoint.Partner) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	app, err := findApps(ctx, tx, `WHERE id = ?`, p.AppID)
	if err != nil {
		return err
	} else if len(app) == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", p.AppID)
	}
	now := db.now()
	if err := p.PrepareNew(app[0], now); err != nil {
		return err
	}
	seq, err := db.appSeq(p.AppID)
	if err != nil {
		return err
	}
	templates, err := encodeJSON("postback templates", p.Templates)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `/* DB.CreatePartner */ INSERT INTO partners (app_seq, pid, click_signing, click_lookback,
		view_through_lookback, probabilistic_window, allow_ip_ua, restricted, daily_click_cap, send_all_installs, in_app_window,
		postback_retries, postback_retry_minutes, postbacks, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, p.PID, p.ClickSigning, hours(p.ClickLookback), hours(p.ViewThroughLookback), hours(p.ProbabilisticWindow),
		p.AllowIPUA, p.Restricted, p.DailyClickCap, p.SendAllInstalls, hours(touchpoint.Window(p.InAppWindow)),
		p.Retries, p.RetryMinutes, templates, now.UnixMilli(), now.UnixMilli())
	if isUniqueViolation(err) {
		return touchpoint.Errorf(touchpoint.ECONFLICT, "partner %s of app %s exists already", p.PID, p.AppID)
	} else if err != nil {
		return err
	}
	return db.commit(tx)
}

// FindPartner returns one partner of an app.
func (db *DB) FindPartner(ctx context.Context, appID, pid string) (*touchpoint.Partner, error) {
	return findPartner(ctx, db.read, appID, pid)
}

// ListPartners returns the partners of an app by pid.
func (db *DB) ListPartners(ctx context.Context, appID string) ([]*touchpoint.Partner, error) {
	if _, err := db.appSeq(appID); err != nil {
		return nil, err
	}
	return findPartners(ctx, db.read, `WHERE a.id = ? ORDER BY p.pid`, appID)
}

// UpdatePartner changes a partner.
func (db *DB) UpdatePartner(ctx context.Context, appID, pid string, upd touchpoint.PartnerUpdate) (*touchpoint.Partner, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	old, err := findPartner(ctx, tx, appID, pid)
	if err != nil {
		return nil, err
	}
	p := upd.Apply(*old)
	secrets := func() ([]*touchpoint.SigningSecret, error) { return findSecrets(ctx, tx, appID, pid) }
	if err := p.CheckUpdate(old, secrets, db.appNow(appID)); err != nil {
		return nil, err
	}
	p.UpdatedAt = db.now()
	templates, err := encodeJSON("postback templates", p.Templates)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `/* DB.UpdatePartner */ UPDATE partners SET click_signing = ?, click_lookback = ?,
		view_through_lookback = ?, probabilistic_window = ?, allow_ip_ua = ?, restricted = ?, daily_click_cap = ?,
		send_all_installs = ?, in_app_window = ?, postback_retries = ?, postback_retry_minutes = ?, postbacks = ?, updated_at = ?
		WHERE app_seq = (SELECT seq FROM apps WHERE id = ?) AND pid = ?`,
		p.ClickSigning, hours(p.ClickLookback), hours(p.ViewThroughLookback), hours(p.ProbabilisticWindow),
		p.AllowIPUA, p.Restricted, p.DailyClickCap, p.SendAllInstalls, hours(touchpoint.Window(p.InAppWindow)),
		p.Retries, p.RetryMinutes, templates, p.UpdatedAt.UnixMilli(), appID, pid); err != nil {
		return nil, err
	}
	return &p, db.commit(tx)
}

// DeletePartner removes a partner and its secrets.
func (db *DB) DeletePartner(ctx context.Context, appID, pid string) error {
	res, err := db.exec(ctx, `/* DB.DeletePartner */ DELETE FROM partners
		WHERE app_seq = (SELECT seq FROM apps WHERE id = ?) AND pid = ?`, appID, pid)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "partner %s of app %s not found", pid, appID)
	}
	return nil
}

// CreateSecret makes a new signing secret for a partner.
func (db *DB) CreateSecret(ctx context.Context, appID, pid string, ttl time.Duration) (*touchpoint.SigningSecret, error) {
	if err := touchpoint.CheckSecretTTL(ttl); err != nil {
		return nil, err
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := findPartner(ctx, tx, appID, pid); err != nil {
		return nil, err
	}
	secrets, err := findSecrets(ctx, tx, appID, pid)
	if err != nil {
		return nil, err
	}
	s, err := touchpoint.NewSigningSecret(appID, pid, ttl, db.appNow(appID), secrets)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `/* DB.CreateSecret */ INSERT INTO signing_secrets (id, app_seq, pid, secret, created_at, expires_at)
		VALUES (?, (SELECT seq FROM apps WHERE id = ?), ?, ?, ?, ?)`,
		s.ID, appID, pid, s.Secret, s.CreatedAt.UnixMilli(), s.ExpiresAt.UnixMilli()); err != nil {
		return nil, err
	}
	return s, db.commit(tx)
}

// ListSecrets returns a partner's secrets, newest first.
func (db *DB) ListSecrets(ctx context.Context, appID, pid string) ([]*touchpoint.SigningSecret, error) {
	if _, err := findPartner(ctx, db.read, appID, pid); err != nil {
		return nil, err
	}
	return findSecrets(ctx, db.read, appID, pid)
}

// RevokeSecret revokes a secret now.
func (db *DB) RevokeSecret(ctx context.Context, appID, pid, id string) error {
	res, err := db.exec(ctx, `/* DB.RevokeSecret */ UPDATE signing_secrets SET revoked_at = coalesce(revoked_at, ?)
		WHERE id = ? AND app_seq = (SELECT seq FROM apps WHERE id = ?) AND pid = ?`,
		db.appNow(appID).UnixMilli(), id, appID, pid)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "secret %s of partner %s not found", id, pid)
	}
	return nil
}

func findPartner(ctx context.Context, q querier, appID, pid string) (*touchpoint.Partner, error) {
	ps, err := findPartners(ctx, q, `WHERE a.id = ? AND p.pid = ?`, appID, pid)
	if err != nil {
		return nil, err
	} else if len(ps) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "partner %s of app %s not found", pid, appID)
	}
	return ps[0], nil
}

func findPartners(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Partner, error) {
	rows, err := q.QueryContext(ctx, `/* findPartners */ SELECT `+partnerColumns+`
		FROM partners p JOIN apps a ON a.seq = p.app_seq `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []*touchpoint.Partner
	for rows.Next() {
		var p touchpoint.Partner
		var click, view, prob, inApp, created, updated int64
		var templates []byte
		if err := rows.Scan(&p.AppID, &p.PID, &p.ClickSigning, &click, &view, &prob, &p.AllowIPUA, &p.Restricted,
			&p.DailyClickCap, &p.SendAllInstalls, &inApp, &p.Retries, &p.RetryMinutes, &templates, &created, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(templates, &p.Templates); err != nil {
			return nil, fmt.Errorf("partner %s postbacks: %w", p.PID, err)
		}
		p.InAppWindow = touchpoint.PostbackWindow(fromHours(inApp))
		p.ClickLookback, p.ViewThroughLookback, p.ProbabilisticWindow = fromHours(click), fromHours(view), fromHours(prob)
		p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
		ps = append(ps, &p)
	}
	return ps, rows.Err()
}

func findSecrets(ctx context.Context, q querier, appID, pid string) ([]*touchpoint.SigningSecret, error) {
	rows, err := q.QueryContext(ctx, `/* findSecrets */ SELECT s.id, s.secret, s.created_at, s.expires_at, s.revoked_at
		FROM signing_secrets s JOIN apps a ON a.seq = s.app_seq
		WHERE a.id = ? AND s.pid = ? ORDER BY s.created_at DESC, s.id`, appID, pid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*touchpoint.SigningSecret
	for rows.Next() {
		s := &touchpoint.SigningSecret{AppID: appID, PID: pid}
		var created, expires int64
		var revoked sql.NullInt64
		if err := rows.Scan(&s.ID, &s.Secret, &created, &expires, &revoked); err != nil {
			return nil, err
		}
		s.CreatedAt, s.ExpiresAt, s.RevokedAt = fromMillis(created), fromMillis(expires), nullMillis(revoked)
		out = append(out, s)
	}
	return out, rows.Err()
}

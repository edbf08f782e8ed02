package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.PartnerStore = (*DB)(nil)

const partnerColumns = `a.id, p.pid, p.click_signing, p.click_lookback, p.view_through_lookback, p.probabilistic_window,
	p.allow_ip_ua, p.restricted, p.daily_click_cap, p.send_all_installs, p.in_app_window, p.postback_retries,
	p.postback_retry_minutes, p.postbacks, p.created_at, p.updated_at`

// appNow is an app's time: its test clock, or the store's.
func (db *DB) appNow(a *touchpoint.App) time.Time {
	if a.TestClock != nil {
		return *a.TestClock
	}
	return db.Now()
}

// CreatePartner stores a partner of an app.
func (db *DB) CreatePartner(ctx context.Context, p *touchpoint.Partner) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		app, err := findApp(ctx, tx, p.AppID, "FOR SHARE")
		if err != nil {
			return err
		}
		now := db.Now()
		if err := p.PrepareNew(app, now); err != nil {
			return err
		}
		templates, err := json.Marshal(p.Templates)
		if err != nil {
			return fmt.Errorf("postback templates: %w", err)
		}
		_, err = tx.Exec(ctx, `/* DB.CreatePartner */ INSERT INTO partners (app_seq, pid, click_signing, click_lookback,
			view_through_lookback, probabilistic_window, allow_ip_ua, restricted, daily_click_cap, send_all_installs, in_app_window,
			postback_retries, postback_retry_minutes, postbacks, created_at, updated_at)
			VALUES ((SELECT seq FROM apps WHERE id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			p.AppID, p.PID, string(p.ClickSigning), p.ClickLookback.Hours(), p.ViewThroughLookback.Hours(), p.ProbabilisticWindow.Hours(),
			p.AllowIPUA, p.Restricted, p.DailyClickCap, p.SendAllInstalls, touchpoint.Window(p.InAppWindow).Hours(),
			p.Retries, p.RetryMinutes, templates, now.UnixMilli(), now.UnixMilli())
		if isUniqueViolation(err) {
			return touchpoint.Errorf(touchpoint.ECONFLICT, "partner %s of app %s exists already", p.PID, p.AppID)
		}
		return err
	})
}

// FindPartner returns one partner of an app.
func (db *DB) FindPartner(ctx context.Context, appID, pid string) (*touchpoint.Partner, error) {
	return findPartner(ctx, db.pool, appID, pid, "")
}

// ListPartners returns the partners of an app by pid.
func (db *DB) ListPartners(ctx context.Context, appID string) ([]*touchpoint.Partner, error) {
	if _, err := findApp(ctx, db.pool, appID, ""); err != nil {
		return nil, err
	}
	return findPartners(ctx, db.pool, `WHERE a.id = $1 ORDER BY p.pid COLLATE "C"`, appID)
}

// UpdatePartner changes a partner.
func (db *DB) UpdatePartner(ctx context.Context, appID, pid string, upd touchpoint.PartnerUpdate) (*touchpoint.Partner, error) {
	var p touchpoint.Partner
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		app, err := findApp(ctx, tx, appID, "")
		if err != nil {
			return err
		}
		old, err := findPartner(ctx, tx, appID, pid, "FOR UPDATE OF p")
		if err != nil {
			return err
		}
		p = upd.Apply(*old)
		secrets := func() ([]*touchpoint.SigningSecret, error) { return findSecrets(ctx, tx, appID, pid) }
		if err := p.CheckUpdate(old, secrets, db.appNow(app)); err != nil {
			return err
		}
		p.UpdatedAt = db.Now()
		templates, err := json.Marshal(p.Templates)
		if err != nil {
			return fmt.Errorf("postback templates: %w", err)
		}
		_, err = tx.Exec(ctx, `/* DB.UpdatePartner */ UPDATE partners SET click_signing = $1, click_lookback = $2,
			view_through_lookback = $3, probabilistic_window = $4, allow_ip_ua = $5, restricted = $6, daily_click_cap = $7,
			send_all_installs = $8, in_app_window = $9, postback_retries = $10, postback_retry_minutes = $11, postbacks = $12,
			updated_at = $13 WHERE app_seq = (SELECT seq FROM apps WHERE id = $14) AND pid = $15`,
			string(p.ClickSigning), p.ClickLookback.Hours(), p.ViewThroughLookback.Hours(), p.ProbabilisticWindow.Hours(),
			p.AllowIPUA, p.Restricted, p.DailyClickCap, p.SendAllInstalls, touchpoint.Window(p.InAppWindow).Hours(),
			p.Retries, p.RetryMinutes, templates, p.UpdatedAt.UnixMilli(), appID, pid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// DeletePartner removes a partner and its secrets.
func (db *DB) DeletePartner(ctx context.Context, appID, pid string) error {
	tag, err := db.pool.Exec(ctx, `/* DB.DeletePartner */ DELETE FROM partners
		WHERE app_seq = (SELECT seq FROM apps WHERE id = $1) AND pid = $2`, appID, pid)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "partner %s of app %s not found", pid, appID)
	}
	return nil
}

// CreateSecret makes a new signing secret for a partner.
func (db *DB) CreateSecret(ctx context.Context, appID, pid string, ttl time.Duration) (*touchpoint.SigningSecret, error) {
	if err := touchpoint.CheckSecretTTL(ttl); err != nil {
		return nil, err
	}
	var s *touchpoint.SigningSecret
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		app, err := findApp(ctx, tx, appID, "")
		if err != nil {
			return err
		}
		// The partner's row, locked: secrets of one partner are made one
		// at a time, so two cannot both pass the count of active ones.
		if _, err := findPartner(ctx, tx, appID, pid, "FOR UPDATE OF p"); err != nil {
			return err
		}
		secrets, err := findSecrets(ctx, tx, appID, pid)
		if err != nil {
			return err
		}
		if s, err = touchpoint.NewSigningSecret(appID, pid, ttl, db.appNow(app), secrets); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `/* DB.CreateSecret */ INSERT INTO signing_secrets (id, app_seq, pid, secret, created_at, expires_at)
			VALUES ($1, (SELECT seq FROM apps WHERE id = $2), $3, $4, $5, $6)`,
			s.ID, appID, pid, s.Secret, s.CreatedAt.UnixMilli(), s.ExpiresAt.UnixMilli())
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ListSecrets returns a partner's secrets, newest first.
func (db *DB) ListSecrets(ctx context.Context, appID, pid string) ([]*touchpoint.SigningSecret, error) {
	if _, err := findPartner(ctx, db.pool, appID, pid, ""); err != nil {
		return nil, err
	}
	return findSecrets(ctx, db.pool, appID, pid)
}

// RevokeSecret revokes a secret now (the app's time).
func (db *DB) RevokeSecret(ctx context.Context, appID, pid, id string) error {
	app, err := findApp(ctx, db.pool, appID, "")
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `/* DB.RevokeSecret */ UPDATE signing_secrets SET revoked_at = coalesce(revoked_at, $1)
		WHERE id = $2 AND app_seq = (SELECT seq FROM apps WHERE id = $3) AND pid = $4`,
		db.appNow(app).UnixMilli(), id, appID, pid)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "secret %s of partner %s not found", id, pid)
	}
	return nil
}

func findPartner(ctx context.Context, q querier, appID, pid, lock string) (*touchpoint.Partner, error) {
	ps, err := findPartners(ctx, q, `WHERE a.id = $1 AND p.pid = $2 `+lock, appID, pid)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "partner %s of app %s not found", pid, appID)
	}
	return ps[0], nil
}

func findPartners(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Partner, error) {
	rows, err := q.Query(ctx, `/* findPartners */ SELECT `+partnerColumns+`
		FROM partners p JOIN apps a ON a.seq = p.app_seq `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []*touchpoint.Partner
	for rows.Next() {
		var p touchpoint.Partner
		var signing string
		var click, view, prob, inApp, created, updated int64
		var templates []byte
		if err := rows.Scan(&p.AppID, &p.PID, &signing, &click, &view, &prob, &p.AllowIPUA, &p.Restricted,
			&p.DailyClickCap, &p.SendAllInstalls, &inApp, &p.Retries, &p.RetryMinutes, &templates, &created, &updated); err != nil {
			return nil, err
		}
		p.ClickSigning = touchpoint.SigningMode(signing)
		if err := json.Unmarshal(templates, &p.Templates); err != nil {
			return nil, fmt.Errorf("partner %s postbacks: %w", p.PID, err)
		}
		p.InAppWindow = touchpoint.PostbackWindow(touchpoint.HoursWindow(inApp))
		p.ClickLookback, p.ViewThroughLookback = touchpoint.HoursWindow(click), touchpoint.HoursWindow(view)
		p.ProbabilisticWindow = touchpoint.HoursWindow(prob)
		p.CreatedAt, p.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated)
		ps = append(ps, &p)
	}
	return ps, rows.Err()
}

func findSecrets(ctx context.Context, q querier, appID, pid string) ([]*touchpoint.SigningSecret, error) {
	rows, err := q.Query(ctx, `/* findSecrets */ SELECT s.id, s.secret, s.created_at, s.expires_at, s.revoked_at
		FROM signing_secrets s JOIN apps a ON a.seq = s.app_seq
		WHERE a.id = $1 AND s.pid = $2 ORDER BY s.created_at DESC, s.id COLLATE "C"`, appID, pid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*touchpoint.SigningSecret
	for rows.Next() {
		s := &touchpoint.SigningSecret{AppID: appID, PID: pid}
		var created, expires int64
		var revoked *int64
		if err := rows.Scan(&s.ID, &s.Secret, &created, &expires, &revoked); err != nil {
			return nil, err
		}
		s.CreatedAt, s.ExpiresAt = touchpoint.StoredTime(created), touchpoint.StoredTime(expires)
		if revoked != nil {
			t := touchpoint.StoredTime(*revoked)
			s.RevokedAt = &t
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

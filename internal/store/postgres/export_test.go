package postgres

import (
	"context"
	"database/sql"

	"github.com/comfygate/comfygate/internal/store/sqlstore"
)

// WriteTx runs fn in a write transaction of the store's runner on db.
func WriteTx(ctx context.Context, db *sql.DB, fn func(context.Context, sqlstore.Querier) error) error {
	return txRunner{db}.InTx(ctx, fn)
}

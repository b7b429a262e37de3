package main

import (
	"context"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store/blobs"
)

// openBlobs opens where attachment content lives: the bucket of
// store.blobs.s3 (checked now, so a wrong bucket or key stops the start
// with a clear error), else the directory of blobDir.
func openBlobs(ctx context.Context, cfg *config.Config) (connectors.Blobs, error) {
	if cfg.Store.Blobs == nil || cfg.Store.Blobs.S3 == nil {
		return blobs.Open(blobDir(cfg))
	}
	c := cfg.Store.Blobs.S3
	s, err := blobs.OpenS3(blobs.S3Options{Endpoint: c.Endpoint, Bucket: c.Bucket, Region: c.Region, AccessKey: c.AccessKey,
		SecretKey: c.SecretKey, SSE: c.SSE, PathStyle: c.PathStyle, AllowHTTP: c.AllowHTTP})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

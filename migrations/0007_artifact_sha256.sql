-- The SHA-256 of every managed file (issue 11 §2): lowercase hex, computed while the file is copied into
-- managed storage (src/core/artifacts/digest-copy.ts), served as `Repr-Digest` / `x-regate-sha256` on downloads,
-- in list-artifacts and in the version manifest. Plain SQLite dialect: node:sqlite and D1 alike.
ALTER TABLE artifacts ADD COLUMN sha256 TEXT;

-- Backfill without reading a byte: a content ETag (the quoted 64 hex digits the local and memory stores use,
-- fs-etags.ts) is the SHA-256 of the bytes. S3/R2 ETags are MD5-based (32 hex digits, or "<md5>-<parts>"), so
-- they never match here, and those rows keep no digest (see README: absent, never guessed).
UPDATE artifacts SET sha256 = substr(etag, 2, 64)
  WHERE sha256 IS NULL AND length(etag) = 66 AND substr(etag, 1, 1) = '"' AND substr(etag, 66, 1) = '"'
    AND substr(etag, 2, 64) NOT GLOB '*[^0-9a-f]*';

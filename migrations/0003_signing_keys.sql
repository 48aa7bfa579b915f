-- Download-token signing keys, shared by every instance over this database (Node processes, Worker isolates).
-- The verification set is the two newest rows (current first). Every change to this table moves the meta
-- counter signing_key_epoch in the same batch, so each instance reloads at its next request.
-- public_jwk: the public JWK ({kty, crv, x}) as JSON. private_enc: the private JWK encrypted with the
-- key-encryption key (AES-256-GCM, 96-bit random IV, the kid as additional authenticated data), written as
-- v1.<base64url iv>.<base64url ciphertext and tag>. The private key is never stored in plaintext.
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  created INTEGER NOT NULL,
  public_jwk TEXT NOT NULL,
  private_enc TEXT NOT NULL
);

"""Federation trust and transport: the signed manifest, mutual TLS, peer tokens, the peer
client that fans a question out to every partner, and the peer-side authentication."""

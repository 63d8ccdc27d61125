"""Talking to the service: the session (retries, tokens, redaction), settings, reading replies,
and the wire format. The typed client face, one method per operation, is generated
(scforhis/_generated/client.py) and builds on this; this wing never imports generated code.
"""

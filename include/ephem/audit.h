/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit events: one structured journald entry per decision, with stable fields
 * and one MESSAGE_ID per kind (see catalog/ephem.catalog). Syslog (LOG_AUTHPRIV)
 * with the same content where journald is absent. The library never logs on its
 * own: front-ends call audit_emit() for their decisions. No secret is ever a field;
 * a token appears only as its fingerprint. Values from tokens are sanitised.
 */
#pragma once

#include <stdint.h>

#include "ephem/reason.h"

typedef enum audit_event {
        AUDIT_AUTH_OK,
        AUDIT_AUTH_DENIED,
        AUDIT_ACCOUNT_DENIED,
        AUDIT_SESSION_OPEN,
        AUDIT_SESSION_CUTOFF,
        AUDIT_SESSION_REVOKED,
        AUDIT_SESSION_CLOSE,
        AUDIT_BREAKGLASS_USED,
        AUDIT_USER_CREATED,
        AUDIT_USER_REMOVED,
        AUDIT_REVOCATION_APPLIED,
        AUDIT_CONFIG_ERROR,
        AUDIT_SESSION_DENIED,
        AUDIT_BREAKGLASS_GENERATED,
        _AUDIT_EVENT_MAX,
} audit_event;

typedef struct audit_record {
        audit_event event;
        ephem_reason reason;    /* EPHEM_OK for successes */
        const char *detail;     /* refinement of the reason; no token content */
        const char *identifier; /* SYSLOG_IDENTIFIER: "pam_ephem", "ephemctl", ... */
        const char *service;    /* PAM service */
        const char *user;
        int64_t uid; /* -1: none */
        const char *rhost;
        const char *iss, *sub, *jti, *issuer, *rule;
        const char *fingerprint;
        const char *session_id;
        const char *act_chain;
        const char *intent;
        const char *agent_type, *agent_owner, *agent_purpose, *risk_tier;
        const char *cert_key_id, *cert_serial, *ca_fingerprint; /* OpenSSH certificate logins */
        const char *cutoff; /* session_open: how the session will be ended (logind, cgroup, uid) */
        int64_t exp, iat;   /* 0: none */
        int64_t deadline;   /* 0: none */
        int64_t extra_num;  /* event-specific figure (e.g. entries applied) */
        int64_t revoked_at; /* session_revoked: when the revocation was recorded (usec) */
} audit_record;

const char *audit_event_name(audit_event e);       /* "auth_ok", ... */
const char *audit_event_message_id(audit_event e); /* 32 hex digits */

/* Emits the record to journald, or to syslog(LOG_AUTHPRIV) when journald is not
 * running. Never fails visibly: auditing must not turn a denial into an error. */
void audit_emit(const audit_record *r);

/* For tests: route events to syslog even when journald runs (0), or to the journal (1). */
void audit_force_backend(int backend);

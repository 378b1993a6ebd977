//! The OpenAPI 3 document served at `GET /openapi.json`, written by hand (no generator dependency).

use serde_json::{Value, json};

fn error_responses() -> Value {
    json!({
        "400": { "description": "Invalid request; the message says why", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "413": { "description": "Request body too large", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "429": {
            "description": "Rate limit of a channel exceeded",
            "headers": {
                "Retry-After": { "schema": { "type": "integer" }, "description": "Seconds until the request can succeed" },
                "Ratelimit-Limit": { "schema": { "type": "integer" } },
                "Ratelimit-Remaining": { "schema": { "type": "integer" } },
                "Ratelimit-Reset": { "schema": { "type": "integer" } }
            },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
        },
        "500": { "description": "Internal server error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        "503": { "description": "Request timeout", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
    })
}

fn accepted_responses() -> Value {
    let mut responses = error_responses();
    if let Value::Object(map) = &mut responses {
        map.insert(
            "202".into(),
            json!({
                "description": "Alerts queued",
                "headers": {
                    "Ratelimit-Limit": { "schema": { "type": "integer" }, "description": "Burst size of the tightest channel" },
                    "Ratelimit-Remaining": { "schema": { "type": "integer" }, "description": "Alerts that channel may still take now" },
                    "Ratelimit-Reset": { "schema": { "type": "integer" }, "description": "Seconds until that channel's bucket is full" }
                }
            }),
        );
        map.insert(
            "204".into(),
            json!({ "description": "Nothing to queue (no alerts, or all ignored)" }),
        );
    }
    responses
}

fn channel_param() -> Value {
    json!({
        "name": "slackChannelId", "in": "path", "required": true,
        "description": "Channel ID or name, used for alerts without slackChannelId",
        "schema": { "type": "string" }
    })
}

fn alerts_op(summary: &str, with_param: bool) -> Value {
    let mut op = json!({
        "summary": summary,
        "requestBody": {
            "required": true,
            "content": { "application/json": { "schema": { "oneOf": [
                { "$ref": "#/components/schemas/Alert" },
                { "type": "array", "items": { "$ref": "#/components/schemas/Alert" } },
                { "type": "object", "properties": { "alerts": { "type": "array", "items": { "$ref": "#/components/schemas/Alert" } } } }
            ] } } }
        },
        "responses": accepted_responses()
    });
    if with_param {
        op["parameters"] = json!([channel_param()]);
    }
    json!({ "post": op })
}

fn prometheus_op(with_param: bool) -> Value {
    let mut op = json!({
        "summary": "Accept a Prometheus Alertmanager webhook",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PrometheusWebhook" } } } },
        "responses": accepted_responses()
    });
    if with_param {
        op["parameters"] = json!([channel_param()]);
    }
    json!({ "post": op })
}

fn test_op(with_param: bool) -> Value {
    let mut op = json!({
        "summary": "Parse alerts and resolve their channels, log the result, queue nothing",
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Alert" } } } },
        "responses": { "204": { "description": "Parsed" }, "400": { "description": "Invalid request" } }
    });
    if with_param {
        op["parameters"] = json!([channel_param()]);
    }
    json!({ "post": op })
}

/// The OpenAPI 3.0 document of the API.
pub fn openapi_document() -> Value {
    json!({
        "paths": paths(),
        "openapi": "3.0.3",
        "info": {
            "title": "Slack Manager alert API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Ingests monitoring alerts, routes them to Slack channels and queues them for the manager."
        },
        "components": { "schemas": schemas() }
    })
}

fn paths() -> Value {
    json!({
        "/alert": alerts_op("Queue one alert (or several)", false),
        "/alert/{slackChannelId}": alerts_op("Queue alerts, defaulting their channel", true),
        "/alerts": alerts_op("Queue alerts", false),
        "/alerts/{slackChannelId}": alerts_op("Queue alerts, defaulting their channel", true),
        "/prometheus-alert": prometheus_op(false),
        "/prometheus-alert/{slackChannelId}": prometheus_op(true),
        "/alerts-test": test_op(false),
        "/alerts-test/{slackChannelId}": test_op(true),
        "/mappings": { "get": {
            "summary": "The routing rules after normalisation (null when none)",
            "responses": { "200": { "description": "Rules", "content": { "application/json": { "schema": {
                "type": "array", "nullable": true, "items": { "$ref": "#/components/schemas/RoutingRule" } } } } } }
        } },
        "/channels": { "get": {
            "summary": "Channels the bot is a member of, sorted by name",
            "responses": {
                "200": { "description": "Channels", "content": { "application/json": { "schema": {
                    "type": "array", "items": { "$ref": "#/components/schemas/Channel" } } } } },
                "500": { "description": "Channel listing failed" }
            }
        } },
        "/ping": { "get": {
            "summary": "Liveness check",
            "parameters": [ { "name": "status", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 100, "maximum": 599 }, "description": "Status code to answer with" } ],
            "responses": { "200": { "description": "pong", "content": { "text/plain": { "schema": { "type": "string" } } } } }
        } },
        "/openapi.json": { "get": {
            "summary": "This document",
            "responses": { "200": { "description": "OpenAPI document", "content": { "application/json": {} } } }
        } }
    })
}

fn schemas() -> Value {
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
        "Channel": { "type": "object", "properties": { "id": { "type": "string" }, "name": { "type": "string" } } },
        "RoutingRule": { "type": "object", "properties": {
            "name": { "type": "string" }, "description": { "type": "string" }, "alertType": { "type": "string" },
            "equals": { "type": "array", "items": { "type": "string" } },
            "hasPrefix": { "type": "array", "items": { "type": "string" } },
            "matchesRegex": { "type": "array", "items": { "type": "string" } },
            "matchAll": { "type": "boolean" }, "channel": { "type": "string" }
        } },
        "Alert": { "type": "object", "properties": {
            "timestamp": { "type": "string", "format": "date-time" },
            "correlationId": { "type": "string" }, "type": { "type": "string" },
            "header": { "type": "string" }, "headerWhenResolved": { "type": "string" },
            "text": { "type": "string" }, "textWhenResolved": { "type": "string" },
            "fallbackText": { "type": "string" }, "author": { "type": "string" }, "host": { "type": "string" },
            "footer": { "type": "string" }, "link": { "type": "string" },
            "issueFollowUpEnabled": { "type": "boolean" }, "autoResolveSeconds": { "type": "integer" },
            "autoResolveAsInconclusive": { "type": "boolean" },
            "severity": { "type": "string", "enum": ["panic", "error", "warning", "resolved", "info"] },
            "slackChannelId": { "type": "string" }, "routeKey": { "type": "string" },
            "username": { "type": "string" }, "iconEmoji": { "type": "string" },
            "fields": { "type": "array", "items": { "type": "object", "properties": { "title": { "type": "string" }, "value": { "type": "string" } } } },
            "notificationDelaySeconds": { "type": "integer" }, "archivingDelaySeconds": { "type": "integer" },
            "escalation": { "type": "array", "items": { "type": "object" } },
            "ignoreIfTextContains": { "type": "array", "items": { "type": "string" } },
            "webhooks": { "type": "array", "items": { "type": "object" } },
            "metadata": { "type": "object" }
        } },
        "PrometheusWebhook": { "type": "object", "required": ["alerts"], "properties": {
            "version": { "type": "string" }, "groupKey": { "type": "string" }, "truncatedAlerts": { "type": "integer" },
            "status": { "type": "string" }, "receiver": { "type": "string" },
            "groupLabels": { "type": "object", "additionalProperties": { "type": "string" } },
            "commonLabels": { "type": "object", "additionalProperties": { "type": "string" } },
            "commonAnnotations": { "type": "object", "additionalProperties": { "type": "string" } },
            "externalURL": { "type": "string" },
            "alerts": { "type": "array", "items": { "type": "object", "properties": {
                "status": { "type": "string" },
                "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                "annotations": { "type": "object", "additionalProperties": { "type": "string" } },
                "startsAt": { "type": "string", "format": "date-time" },
                "endsAt": { "type": "string", "format": "date-time" },
                "generatorURL": { "type": "string" }, "fingerprint": { "type": "string" }
            } } }
        } }
    })
}

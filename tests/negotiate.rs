//! Content negotiation: the `Accept` headers real scrapers send, and the
//! corner cases of client_golang's `expfmt.NegotiateIncludingOpenMetrics`.

use promclient::encoding::negotiate::{negotiate, negotiate_among, Escaping, Format};

const PROTOBUF: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// (what sends it, Accept, format, escaping, Content-Type)
const SCRAPERS: &[(&str, &str, Format, Escaping, &str)] = &[
    (
        "Prometheus 2.x",
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,\
         text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        Format::OpenMetrics,
        Escaping::Underscores,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
    ),
    (
        "Prometheus 2.x with native histograms",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,\
         application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,\
         text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        Format::Protobuf,
        Escaping::Underscores,
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores",
    ),
    (
        "Prometheus 3.x",
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
         application/openmetrics-text;version=0.0.1;q=0.4,\
         text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        Format::OpenMetrics,
        Escaping::AllowUtf8,
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
    ),
    (
        "Prometheus 3.x with native histograms",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;\
         escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
         application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,\
         text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        Format::Protobuf,
        Escaping::AllowUtf8,
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8",
    ),
    (
        "Prometheus 3.x scraping text 1.0.0 only",
        "text/plain;version=1.0.0;escaping=allow-utf-8",
        Format::TextV1,
        Escaping::AllowUtf8,
        "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
    ),
    (
        "curl",
        "*/*",
        Format::Text,
        Escaping::Underscores,
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
    ),
    (
        "a browser",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        Format::Text,
        Escaping::Underscores,
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
    ),
    (
        "no Accept header",
        "",
        Format::Text,
        Escaping::Underscores,
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
    ),
];

#[test]
fn real_scrapers_get_what_they_ask_for() {
    for &(who, accept, format, escaping, content_type) in SCRAPERS {
        let n = negotiate(accept);
        assert_eq!(
            (n.format, n.escaping),
            (format, escaping),
            "{who}: {accept}"
        );
        assert_eq!(n.content_type(), content_type, "{who}");
        // Without protobuf on offer, its askers get OpenMetrics.
        let without = negotiate_among(
            accept,
            &[
                Format::OpenMetrics,
                Format::OpenMetricsV0_0_1,
                Format::TextV1,
                Format::Text,
            ],
        );
        let want = if format == Format::Protobuf {
            Format::OpenMetrics
        } else {
            format
        };
        assert_eq!(
            (without.format, without.escaping),
            (want, escaping),
            "{who}"
        );
    }
}

#[test]
fn clauses_are_taken_by_weight_then_specificity_then_order() {
    // The text clause weighs more than the protobuf one.
    let n = negotiate(&format!("{PROTOBUF};q=0.2,text/plain;version=0.0.4;q=0.9"));
    assert_eq!(n.format, Format::Text);
    // Equal weights: header order.
    let n = negotiate(
        "application/openmetrics-text;version=0.0.1,application/openmetrics-text;version=1.0.0",
    );
    assert_eq!(n.format, Format::OpenMetricsV0_0_1);
    // Equal weights: a wildcard after a specific type, wherever it stands.
    let n = negotiate("*/*;escaping=dots,application/openmetrics-text;version=1.0.0");
    assert_eq!(
        (n.format, n.escaping),
        (Format::OpenMetrics, Escaping::Underscores)
    );
    // q=0 means "not acceptable".
    let n = negotiate("application/openmetrics-text;version=1.0.0;q=0,text/plain;q=0.1");
    assert_eq!(n.format, Format::Text);
    // An unparsable weight counts as 0.
    let n = negotiate("application/openmetrics-text;version=1.0.0;q=high");
    assert_eq!(n.format, Format::Text);
}

#[test]
fn versions_default_per_type_and_must_match() {
    for (accept, format) in [
        ("application/openmetrics-text", Format::OpenMetricsV0_0_1),
        (
            "application/openmetrics-text;version=1.0.0",
            Format::OpenMetrics,
        ),
        (
            "application/openmetrics-text;version=0.0.1",
            Format::OpenMetricsV0_0_1,
        ),
        ("text/plain", Format::Text),
        ("text/plain;version=0.0.4", Format::Text),
        ("text/plain;version=1.0.0", Format::TextV1),
        // Unknown versions and types fall back to text 0.0.4.
        ("application/openmetrics-text;version=2.0.0", Format::Text),
        ("text/plain;version=0.0.3", Format::Text),
        ("application/json", Format::Text),
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
            Format::Protobuf,
        ),
        // Protobuf needs both its parameters, and only `delimited` is served.
        ("application/vnd.google.protobuf", Format::Text),
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily",
            Format::Text,
        ),
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
            Format::Text,
        ),
        // Wildcards alone name no format: their versions never match.
        ("text/*", Format::Text),
        ("application/*", Format::Text),
        ("*", Format::Text),
    ] {
        let n = negotiate(accept);
        assert_eq!(n.format, format, "{accept}");
    }
}

#[test]
fn spacing_case_and_quotes_do_not_matter() {
    let n = negotiate(
        " Application/OpenMetrics-Text ; Version = \"1.0.0\" ; Q=0.9 ; Escaping=values , text/plain;q=0.1",
    );
    assert_eq!(
        (n.format, n.escaping),
        (Format::OpenMetrics, Escaping::Values)
    );
}

#[test]
fn the_last_valid_escaping_read_before_the_match_wins() {
    for (accept, escaping) in [
        ("text/plain;version=0.0.4;escaping=dots", Escaping::Dots),
        ("text/plain;version=0.0.4;escaping=values", Escaping::Values),
        ("text/plain;version=0.0.4;escaping=underscores", Escaping::Underscores),
        ("text/plain;version=0.0.4;escaping=allow-utf-8", Escaping::AllowUtf8),
        // Unknown values are ignored.
        ("text/plain;version=0.0.4;escaping=utf-8", Escaping::Underscores),
        // A clause read before the matching one counts, one after it not.
        (
            "application/json;escaping=dots;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;escaping=values;q=0.1",
            Escaping::Dots,
        ),
        // Without a match, every clause was read.
        ("application/json;escaping=dots,image/png;escaping=values;q=0.5", Escaping::Values),
    ] {
        assert_eq!(negotiate(accept).escaping, escaping, "{accept}");
    }
}

#[test]
fn negotiation_among_offered_formats() {
    let text_or_om = [Format::OpenMetrics, Format::Text];
    let n = negotiate_among(
        &format!("{PROTOBUF},application/openmetrics-text;version=1.0.0;q=0.5"),
        &text_or_om,
    );
    assert_eq!(n.format, Format::OpenMetrics);
    assert_eq!(negotiate_among(PROTOBUF, &text_or_om).format, Format::Text);
    // Text not offered: the first offered format.
    assert_eq!(
        negotiate_among("*/*", &[Format::Protobuf]).format,
        Format::Protobuf
    );
    assert_eq!(negotiate_among("*/*", &[]).format, Format::Text);
}

//! Decoding Prometheus answers: every shape a check can get back, the
//! non-finite values, the series cap, and inputs that must be clear errors.

use super::*;

fn vector(series: usize) -> String {
    let items: Vec<String> = (0..series)
        .map(|i| format!(r#"{{"metric":{{"region":"r{i}"}},"value":[1712345678.9,"{i}"]}}"#))
        .collect();
    format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
        items.join(",")
    )
}

#[test]
fn vector_values_including_non_finite_ones() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"__name__":"up","job":"a"},"value":[1,"1.5"]},
        {"metric":{},"value":[1,"NaN"]},
        {"metric":{},"value":[1,"+Inf"]},
        {"metric":{},"value":[1,"-Inf"]},
        {"metric":{},"value":[1,"1e-3"]}]},"warnings":["w"]}"#;
    let Decoded::Vector(v) = decode(body.as_bytes(), 1000).unwrap() else {
        panic!("not a vector")
    };
    assert_eq!(v[0].labels["job"], "a");
    assert_eq!(v[0].value, 1.5);
    assert!(v[1].value.is_nan());
    assert_eq!(v[2].value, f64::INFINITY);
    assert_eq!(v[3].value, f64::NEG_INFINITY);
    assert_eq!(v[4].value, 0.001);
}

#[test]
fn scalar_and_matrix() {
    let scalar =
        r#"{"status":"success","data":{"resultType":"scalar","result":[1712345678.123,"0.25"]}}"#;
    assert_eq!(decode(scalar.as_bytes(), 1).unwrap(), Decoded::Scalar(0.25));
    let matrix = r#"{"status":"success","data":{"result":[{"metric":{"a":"b"},"values":[[10,"1"],[20.5,"NaN"]]}],"resultType":"matrix"}}"#;
    let Decoded::Matrix(m) = decode(matrix.as_bytes(), 10).unwrap() else {
        panic!("not a matrix")
    };
    assert_eq!(m[0].points[0], (10, 1.0));
    assert_eq!(m[0].points[1].0, 20);
    assert!(m[0].points[1].1.is_nan());
}

#[test]
fn more_series_than_the_cap_is_an_error_with_the_count() {
    assert!(
        matches!(decode(vector(1000).as_bytes(), 1000), Ok(Decoded::Vector(v)) if v.len() == 1000)
    );
    let err = decode(vector(1001).as_bytes(), 1000).unwrap_err();
    assert_eq!(
        err,
        DatasourceError::TooManySeries {
            count: 1001,
            limit: 1000
        }
    );
    assert!(err
        .to_string()
        .contains("1001 series, more than max_series (1000)"));
}

#[test]
fn values_that_are_not_prometheus_numbers_are_protocol_errors() {
    for value in [
        "\"fast\"", "\"inf\"", "\"nan\"", "\"\"", "1.5", "null", "[]",
    ] {
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1,{value}]}}]}}}}"#
        );
        match decode(body.as_bytes(), 10) {
            Err(DatasourceError::Protocol(why)) => assert!(!why.is_empty()),
            other => panic!("{value}: {other:?}"),
        }
    }
}

#[test]
fn malformed_answers_are_clear_errors_never_panics() {
    let cases: &[&[u8]] = &[
        b"",
        b"null",
        b"[]",
        b"<html>bad gateway</html>",
        b"{}",
        br#"{"status":"success"}"#,
        br#"{"status":"success","data":{"resultType":"vector"}}"#,
        br#"{"status":"success","data":{"result":[]}}"#,
        br#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#,
        br#"{"status":"success","data":{"resultType":"scalar","result":[1]}}"#,
        br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}"#,
        br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}}"#,
        br#"{"status":"success","data":{"resultType":"vector","result":[]}} trailing"#,
        br#"{"status":"maybe","data":{"resultType":"vector","result":[]}}"#,
        b"\xff\xfe",
    ];
    for body in cases {
        match decode(body, 10) {
            Err(DatasourceError::Protocol(why)) => assert!(!why.is_empty()),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
}

#[test]
fn an_empty_result_is_an_empty_vector() {
    let body = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    assert_eq!(decode(body, 10).unwrap(), Decoded::Vector(Vec::new()));
}

#[test]
fn error_envelopes_keep_prometheus_words() {
    let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
    assert_eq!(
        error_of(body),
        Some(("bad_data".into(), "parse error at char 4".into()))
    );
    assert_eq!(
        decode(body, 10).unwrap_err(),
        DatasourceError::Query("bad_data: parse error at char 4".into())
    );
    assert_eq!(error_of(b"<html>"), None);
}

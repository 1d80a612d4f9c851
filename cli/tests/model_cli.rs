//! `aurum model train` and `aurum model score`, run as the built binary.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn aurum(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aurum"))
        .args(args)
        .output()
        .expect("the aurum binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Past leads: the chance of a sale rises with the bill and is highest in Brooklyn; a
/// tenth of the bills are missing; `lead_ref` is noise.
fn history(rows: usize, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let boroughs = ["brooklyn", "queens", "manhattan", "bronx", "staten_island"];
    let mut csv = String::from("bill,borough,timeline,lead_ref,converted\n");
    for i in 0..rows {
        let bill: f64 = rng.random_range(80.0..500.0);
        let b = boroughs[rng.random_range(0..if i % 150 == 0 { 5 } else { 4 })];
        let z = -3.0 + bill / 100.0 + if b == "brooklyn" { 1.0 } else { 0.0 };
        let y = rng.random_bool(1.0 / (1.0 + (-z).exp()));
        let bill_cell = if i % 10 == 3 {
            String::new()
        } else {
            format!("{bill:.0}")
        };
        let timeline = ["now", "later", ""][i % 3];
        csv.push_str(&format!(
            "{bill_cell},{b},{timeline},{},{}\n",
            rng.random_range(0..1000),
            u8::from(y)
        ));
    }
    csv
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn given_a_history_csv_when_trained_then_held_out_figures_are_printed_and_the_model_beats_the_base_rate()
 {
    let dir = tempfile::tempdir().expect("dir");
    let csv = write(dir.path(), "leads.csv", &history(3_000, 1));
    let model = dir.path().join("model.json");
    let out = aurum(&[
        "model",
        "train",
        "--csv",
        s(&csv),
        "--target",
        "converted",
        "--out",
        s(&model),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("log loss") && stdout.contains("AUC"),
        "{stdout}"
    );

    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).expect("model file")).expect("json");
    let log_loss = saved["held_out"]["log_loss"].as_f64().expect("log loss");
    let base = saved["held_out_base_rate_log_loss"].as_f64().expect("base");
    let auc = saved["held_out"]["auc"].as_f64().expect("auc");
    assert!(log_loss < base, "{log_loss} vs base rate {base}");
    assert!(auc > 0.7, "AUC {auc}");
    assert_eq!(saved["held_out"]["samples"], 600);
    let names: Vec<&str> = saved["feature_names"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(names.contains(&"bill=(missing)"), "{names:?}");
    assert!(names.contains(&"borough=brooklyn"), "{names:?}");
    assert!(names.contains(&"timeline=(empty)"), "{names:?}");
    assert!(
        names.contains(&"borough=(other)") && !names.contains(&"borough=staten_island"),
        "a rare level is pooled: {names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("converted")),
        "{names:?}"
    );
}

#[test]
fn given_a_model_when_scoring_then_one_probability_per_row_in_order_and_the_target_is_ignored() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = write(dir.path(), "leads.csv", &history(2_000, 2));
    let model = dir.path().join("model.json");
    let trained = aurum(&[
        "model",
        "train",
        "--csv",
        s(&csv),
        "--target",
        "converted",
        "--out",
        s(&model),
    ]);
    assert!(trained.status.success(), "{:?}", text(&trained));

    let with_target = write(
        dir.path(),
        "new.csv",
        "converted,lead_ref,timeline,borough,bill\n1,5,now,brooklyn,480\n0,6,later,bronx,90\n1,7,,brooklyn,\n0,8,now,unheard_of,300\n",
    );
    let without_target = write(
        dir.path(),
        "new2.csv",
        "bill,borough,timeline,lead_ref\n480,brooklyn,now,5\n90,bronx,later,6\n,brooklyn,,7\n300,unheard_of,now,8\n",
    );
    let scored = dir.path().join("scored.csv");
    let scored2 = dir.path().join("scored2.csv");
    for (input, output) in [(&with_target, &scored), (&without_target, &scored2)] {
        let out = aurum(&[
            "model",
            "score",
            "--csv",
            s(input),
            "--model",
            s(&model),
            "--out",
            s(output),
        ]);
        assert!(out.status.success(), "{:?}", text(&out));
    }
    let a = std::fs::read_to_string(&scored).expect("scored");
    assert_eq!(
        a,
        std::fs::read_to_string(&scored2).expect("scored2"),
        "the target is ignored"
    );
    let lines: Vec<&str> = a.lines().collect();
    assert_eq!(lines[0], "probability");
    assert_eq!(lines.len(), 5, "{a}");
    let p: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.parse().expect("number"))
        .collect();
    assert!(p.iter().all(|p| (0.0..=1.0).contains(p)), "{p:?}");
    assert!(
        p[0] > p[1],
        "a big Brooklyn bill beats a small Bronx one: {p:?}"
    );
}

#[test]
fn given_bad_files_then_the_error_names_the_row_and_column_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("dir");
    let good = history(200, 3);
    let model = dir.path().join("model.json");

    let mut typo = good.clone();
    typo.push_str("12x,queens,now,1,0\n");
    let bad_target = good.replace(",0\n", ",no\n");
    let ragged = format!("{good}300,queens\n");
    for (name, contents, needles) in [
        (
            "typo.csv",
            typo.as_str(),
            vec!["line 202", "\"bill\"", "12x"],
        ),
        (
            "target.csv",
            bad_target.as_str(),
            vec!["column \"converted\"", "0 or 1"],
        ),
        (
            "ragged.csv",
            ragged.as_str(),
            vec!["line 202", "2 fields", "5"],
        ),
        ("empty.csv", "", vec!["header"]),
    ] {
        let csv = write(dir.path(), name, contents);
        let out = aurum(&[
            "model",
            "train",
            "--csv",
            s(&csv),
            "--target",
            "converted",
            "--out",
            s(&model),
        ]);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{name}: {stdout}");
        for n in needles {
            assert!(stderr.contains(n), "{name}: {n:?} not in {stderr}");
        }
        assert!(!model.exists(), "{name}: no model written");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    let csv = write(dir.path(), "leads.csv", &good);
    let out = aurum(&[
        "model",
        "train",
        "--csv",
        s(&csv),
        "--target",
        "sold",
        "--out",
        s(&model),
    ]);
    assert!(
        text(&out).1.contains("no column \"sold\""),
        "{:?}",
        text(&out)
    );

    let trained = aurum(&[
        "model",
        "train",
        "--csv",
        s(&csv),
        "--target",
        "converted",
        "--out",
        s(&model),
    ]);
    assert!(trained.status.success(), "{:?}", text(&trained));
    let scored = dir.path().join("scored.csv");
    let bad = write(
        dir.path(),
        "bad.csv",
        "bill,borough,timeline,lead_ref\n300,queens,now,1\nlots,queens,now,2\n",
    );
    let out = aurum(&[
        "model",
        "score",
        "--csv",
        s(&bad),
        "--model",
        s(&model),
        "--out",
        s(&scored),
    ]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 3") && stderr.contains("\"bill\""),
        "{stderr}"
    );
    assert!(!scored.exists(), "no partial output");
    let missing = write(
        dir.path(),
        "missing.csv",
        "bill,timeline,lead_ref\n300,now,1\n",
    );
    let out = aurum(&[
        "model",
        "score",
        "--csv",
        s(&missing),
        "--model",
        s(&model),
        "--out",
        s(&scored),
    ]);
    assert!(
        text(&out).1.contains("no column \"borough\""),
        "{:?}",
        text(&out)
    );
    let not_a_model = write(dir.path(), "nope.json", "{}");
    let out = aurum(&[
        "model",
        "score",
        "--csv",
        s(&missing),
        "--model",
        s(&not_a_model),
        "--out",
        s(&scored),
    ]);
    assert!(
        text(&out).1.contains("not a model file"),
        "{:?}",
        text(&out)
    );
}

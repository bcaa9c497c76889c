//! Every kind of bad scenario input gets an input error whose one-line
//! message names the origin, the field path and what is expected — never a
//! panic, never a half-built scenario.

use agora::Scenario;

const ORIGIN: &str = "bad.toml";

/// A valid scenario; each case breaks one thing in it (the event cases in
/// `shocks` too).
pub(crate) const GOOD: &str = r#"
[simulation]
steps = 10
seed = 1

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }

[[agents]]
group = "noise"
count = 10
balance = 100.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
"#;

/// `GOOD` with `from` replaced by `to` (which must occur exactly once).
fn with(from: &str, to: &str) -> String {
    assert_eq!(GOOD.matches(from).count(), 1, "{from:?} must occur once");
    GOOD.replacen(from, to, 1)
}

/// Parses `text`, expecting an input error; returns its message.
pub(crate) fn error_of(text: &str) -> String {
    match Scenario::from_toml_str(text, ORIGIN) {
        Ok(s) => panic!("accepted a bad scenario: {s:?}\n{text}"),
        Err(e) => {
            assert!(e.is_input_error(), "not an input error: {e:?}");
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "message is not one line: {msg:?}");
            msg
        }
    }
}

/// Asserts the message starts with `bad.toml: PATH: ` and contains every part.
fn assert_names(msg: &str, path: &str, parts: &[&str]) {
    let prefix = format!("{ORIGIN}: {path}: ");
    assert!(
        msg.starts_with(&prefix),
        "expected the message to start with {prefix:?}, found {msg:?}"
    );
    for part in parts {
        assert!(msg.contains(part), "expected {part:?} in {msg:?}");
    }
}

#[test]
fn the_good_scenario_is_accepted() {
    let s = Scenario::from_toml_str(GOOD, ORIGIN).expect("valid");
    assert_eq!(s.agent_count(), 10);
    assert_eq!(s.simulation().steps, 10);
}

// ---- unknown keys ----

#[test]
fn an_unknown_top_level_key_is_named_with_the_known_ones() {
    let msg = error_of(&format!("colour = \"red\"\n{GOOD}"));
    assert_eq!(
        msg,
        "bad.toml: colour: unknown field; expected one of: agents, assets, contracts, description, events, governance, incentives, metrics, monitors, name, output, simulation, stability"
    );
}

#[test]
fn an_unknown_key_in_simulation_is_named_with_the_known_ones() {
    let msg = error_of(&with("seed = 1", "seed = 1\nthreads = 4"));
    assert_eq!(
        msg,
        "bad.toml: simulation.threads: unknown field; expected one of: evaluation_steps, intelligence, record_every, runs, seed, steps, stop"
    );
}

#[test]
fn an_unknown_key_in_an_asset_is_named_by_the_asset() {
    let msg = error_of(&with("name = \"TOKEN\"", "name = \"TOKEN\"\ncolour = 2"));
    assert_eq!(
        msg,
        "bad.toml: assets.TOKEN.colour: unknown field; expected one of: initial_supply, kind, name, ordering, pricing, schedule"
    );
}

#[test]
fn an_unknown_key_in_pricing_lists_the_curves_parameters() {
    let msg = error_of(&with("b = 1.0 }", "b = 1.0, slope = 2.0 }"));
    assert_eq!(
        msg,
        "bad.toml: assets.TOKEN.pricing.slope: unknown field; expected one of: b, curve, fee, kind, m"
    );
}

#[test]
fn a_parameter_of_another_curve_is_an_unknown_key() {
    let msg = error_of(&with("b = 1.0 }", "b = 1.0, k = 2.0 }"));
    assert_names(&msg, "assets.TOKEN.pricing.k", &["unknown field", "m"]);
}

#[test]
fn an_unknown_key_in_a_policy_lists_the_policys_fields() {
    let msg = error_of(&with(
        "sell_fraction = 0.1 }",
        "sell_fraction = 0.1, greed = 1 }",
    ));
    assert_eq!(
        msg,
        "bad.toml: agents.noise.policy.greed: unknown field; expected one of: asset, buy_fraction, kind, p_buy, p_sell, sell_fraction"
    );
}

#[test]
fn an_unknown_key_in_a_group_is_named_by_the_group() {
    let msg = error_of(&with("count = 10", "count = 10\nsize = 3"));
    assert_names(
        &msg,
        "agents.noise.size",
        &["unknown field", "balance", "count", "policy"],
    );
}

// ---- missing fields ----

#[test]
fn a_missing_seed_is_named() {
    let msg = error_of(&with("seed = 1\n", ""));
    assert_eq!(
        msg,
        "bad.toml: simulation.seed: missing field; expected a whole number >= 0"
    );
}

#[test]
fn a_missing_pricing_is_named_by_the_asset() {
    let msg = error_of(&with(
        "pricing = { kind = \"bonding_curve\", curve = \"linear\", m = 0.001, b = 1.0 }\n",
        "",
    ));
    assert_eq!(
        msg,
        "bad.toml: assets.TOKEN.pricing: missing field; expected a table"
    );
}

#[test]
fn a_missing_count_is_named_by_the_group() {
    let msg = error_of(&with("count = 10\n", ""));
    assert_eq!(
        msg,
        "bad.toml: agents.noise.count: missing field; expected a whole number >= 1"
    );
}

#[test]
fn a_missing_curve_parameter_is_named() {
    let msg = error_of(&with(", b = 1.0 }", " }"));
    assert_names(&msg, "assets.TOKEN.pricing.b", &["missing field", "number"]);
}

#[test]
fn a_missing_simulation_table_is_named() {
    let msg = error_of(&with("[simulation]\nsteps = 10\nseed = 1\n", ""));
    assert_names(&msg, "simulation", &["missing field", "table"]);
}

#[test]
fn a_scenario_without_assets_is_rejected() {
    let text = "[simulation]\nsteps = 1\nseed = 1\n";
    let msg = error_of(text);
    assert_names(&msg, "assets", &["at least one"]);
}

// ---- numbers out of range ----

#[test]
fn a_negative_count_is_rejected_with_the_allowed_range() {
    let msg = error_of(&with("count = 10", "count = -5"));
    assert_eq!(
        msg,
        "bad.toml: agents.noise.count: expected a whole number from 1 to 4294967294, found -5"
    );
}

#[test]
fn a_fractional_count_is_rejected() {
    let msg = error_of(&with("count = 10", "count = 1.5"));
    assert_names(&msg, "agents.noise.count", &["whole number", "found 1.5"]);
}

#[test]
fn a_zero_count_is_rejected() {
    let msg = error_of(&with("count = 10", "count = 0"));
    assert_names(
        &msg,
        "agents.noise.count",
        &["whole number from 1", "found 0"],
    );
}

#[test]
fn zero_steps_are_rejected() {
    let msg = error_of(&with("steps = 10", "steps = 0"));
    assert_names(&msg, "simulation.steps", &["whole number", "found 0"]);
}

#[test]
fn a_negative_seed_is_rejected() {
    let msg = error_of(&with("seed = 1", "seed = -1"));
    assert_names(&msg, "simulation.seed", &["whole number", "found -1"]);
}

#[test]
fn probabilities_summing_above_one_are_rejected() {
    let msg = error_of(&with("p_sell = 0.5", "p_sell = 0.6"));
    assert_eq!(
        msg,
        "bad.toml: agents.noise.policy.p_sell: p_buy + p_sell must be at most 1, found 0.5 + 0.6 = 1.1"
    );
}

#[test]
fn a_probability_above_one_is_rejected() {
    let msg = error_of(&with("p_buy = 0.5", "p_buy = 1.5"));
    assert_names(
        &msg,
        "agents.noise.policy.p_buy",
        &["from 0 to 1", "found 1.5"],
    );
}

#[test]
fn an_infinite_curve_parameter_is_rejected() {
    let msg = error_of(&with("m = 0.001", "m = inf"));
    assert_eq!(
        msg,
        "bad.toml: assets.TOKEN.pricing.m: expected a finite number, found inf"
    );
}

#[test]
fn a_nan_balance_is_rejected() {
    let msg = error_of(&with("balance = 100.0", "balance = nan"));
    assert_names(&msg, "agents.noise.balance", &["finite number", "NaN"]);
}

#[test]
fn a_negative_infinite_fraction_is_rejected() {
    let msg = error_of(&with("buy_fraction = 0.1", "buy_fraction = -inf"));
    assert_names(&msg, "agents.noise.policy.buy_fraction", &["-inf"]);
}

#[test]
fn a_nan_initial_supply_is_rejected() {
    let msg = error_of(&with(
        "name = \"TOKEN\"",
        "name = \"TOKEN\"\ninitial_supply = nan",
    ));
    assert_names(
        &msg,
        "assets.TOKEN.initial_supply",
        &["finite number", "NaN"],
    );
}

#[test]
fn a_negative_balance_is_rejected() {
    let msg = error_of(&with("balance = 100.0", "balance = -1.0"));
    assert_eq!(
        msg,
        "bad.toml: agents.noise.balance: expected a finite number >= 0, found -1"
    );
}

#[test]
fn a_fee_of_one_or_more_is_rejected() {
    let msg = error_of(&with("b = 1.0 }", "b = 1.0, fee = 1.0 }"));
    assert_eq!(
        msg,
        "bad.toml: assets.TOKEN.pricing.fee: expected a number >= 0 and < 1, found 1"
    );
    let msg = error_of(&with("b = 1.0 }", "b = 1.0, fee = 2.5 }"));
    assert_names(&msg, "assets.TOKEN.pricing.fee", &["< 1", "found 2.5"]);
}

#[test]
fn a_negative_fee_is_rejected() {
    let msg = error_of(&with("b = 1.0 }", "b = 1.0, fee = -0.01 }"));
    assert_names(&msg, "assets.TOKEN.pricing.fee", &[">= 0", "found -0.01"]);
}

#[test]
fn a_sigmoid_with_k_zero_or_negative_is_rejected() {
    for k in ["0.0", "-0.5"] {
        let msg = error_of(&with(
            "curve = \"linear\", m = 0.001, b = 1.0",
            &format!("curve = \"sigmoid\", K = 100.0, k = {k}, S0 = 10.0"),
        ));
        assert_names(
            &msg,
            "assets.TOKEN.pricing.k",
            &["expected a finite number > 0", "found"],
        );
    }
}

#[test]
fn a_linear_curve_with_m_and_b_zero_is_rejected() {
    let msg = error_of(&with("m = 0.001, b = 1.0", "m = 0.0, b = 0.0"));
    assert_names(&msg, "assets.TOKEN.pricing", &["m, b", "both be 0"]);
}

#[test]
fn a_negative_slope_is_rejected() {
    let msg = error_of(&with("m = 0.001", "m = -0.001"));
    assert_names(&msg, "assets.TOKEN.pricing.m", &[">= 0", "found -0.001"]);
}

#[test]
fn a_bancor_reserve_ratio_above_one_is_rejected() {
    let msg = error_of(&with(
        "curve = \"linear\", m = 0.001, b = 1.0",
        "curve = \"bancor\", reserve_ratio = 1.5, p0 = 1.0, s0 = 100.0",
    ));
    assert_names(
        &msg,
        "assets.TOKEN.pricing.reserve_ratio",
        &["(0, 1]", "found 1.5"],
    );
}

// ---- unknown names ----

#[test]
fn an_unknown_curve_lists_the_known_curves() {
    let msg = error_of(&with("\"linear\"", "\"cubic\""));
    assert_eq!(
        msg,
        "bad.toml: assets.TOKEN.pricing.curve: unknown value \"cubic\"; expected one of: linear, exponential, sigmoid, power, bancor"
    );
}

#[test]
fn an_unknown_pricing_kind_lists_the_known_kinds() {
    let msg = error_of(&with("\"bonding_curve\"", "\"uniswap\""));
    assert_names(
        &msg,
        "assets.TOKEN.pricing.kind",
        &["\"uniswap\"", "bonding_curve", "order_book"],
    );
}

#[test]
fn an_unknown_policy_kind_lists_the_known_kinds() {
    let msg = error_of(&with("kind = \"random\"", "kind = \"genius\""));
    assert_eq!(
        msg,
        "bad.toml: agents.noise.policy.kind: unknown policy kind \"genius\"; expected one of: random, threshold, momentum, mean_reversion, valuation, zi_c, market_maker, fundamental, consumer, producer, player, scripted, q_learning, bandit, policy_gradient, effort, staker, liquidity_provider, sandwich, wash_trader, pump_and_dump, spoofer, cartel, hoarder, best_response"
    );
}

#[test]
fn an_unknown_asset_in_a_policy_lists_the_scenarios_assets() {
    let msg = error_of(&with("asset = \"TOKEN\"", "asset = \"GOLD\""));
    assert_eq!(
        msg,
        "bad.toml: agents.noise.policy.asset: unknown asset \"GOLD\"; expected one of the scenario's assets: TOKEN"
    );
}

#[test]
fn an_unknown_asset_in_an_airdrop_is_rejected() {
    let msg = error_of(&with(
        "balance = 100.0",
        "balance = 100.0\nholdings = [ { asset = \"GOLD\", total = 10.0, distribution = \"uniform\" } ]",
    ));
    assert!(msg.starts_with("bad.toml: agents.noise.holdings"), "{msg}");
    assert!(
        msg.contains(".asset: unknown asset \"GOLD\"") && msg.contains("TOKEN"),
        "{msg}"
    );
}

#[test]
fn a_schedule_naming_an_unknown_parameter_lists_the_curves_parameters() {
    let msg = error_of(&with(
        "name = \"TOKEN\"",
        "name = \"TOKEN\"\nschedule = [ { param = \"q\", at = 3, value = 1.0 } ]",
    ));
    assert_eq!(
        msg,
        "bad.toml: assets.TOKEN.schedule[0].param: unknown parameter \"q\" of the linear curve; expected one of: m, b"
    );
}

#[test]
fn a_schedule_with_an_invalid_value_is_rejected() {
    let msg = error_of(&with(
        "name = \"TOKEN\"",
        "name = \"TOKEN\"\nschedule = [ { param = \"m\", at = 3, value = -1.0 } ]",
    ));
    assert_names(&msg, "assets.TOKEN.schedule[0].value", &["`m`", ">= 0"]);
}

#[test]
fn a_ramp_that_ends_before_it_starts_is_rejected() {
    let msg = error_of(&with(
        "name = \"TOKEN\"",
        "name = \"TOKEN\"\nschedule = [ { param = \"m\", from = 5, to = 5, value = 0.002 } ]",
    ));
    assert_names(
        &msg,
        "assets.TOKEN.schedule[0].to",
        &["whole number >= 6", "found 5"],
    );
}

#[test]
fn duplicate_asset_names_are_rejected() {
    let text = format!(
        "{GOOD}\n[[assets]]\nname = \"TOKEN\"\npricing = {{ kind = \"bonding_curve\", curve = \"linear\", m = 0.001, b = 1.0 }}\n"
    );
    let msg = error_of(&text);
    assert_eq!(
        msg,
        "bad.toml: assets.TOKEN.name: duplicate asset name \"TOKEN\""
    );
}

#[test]
fn duplicate_group_names_are_rejected() {
    let text = format!(
        "{GOOD}\n[[agents]]\ngroup = \"noise\"\ncount = 1\nbalance = 1.0\npolicy = {{ kind = \"random\", asset = \"TOKEN\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }}\n"
    );
    let msg = error_of(&text);
    assert_eq!(
        msg,
        "bad.toml: agents.noise.group: duplicate group name \"noise\""
    );
}

// ---- wrong types and syntax ----

#[test]
fn a_string_where_a_number_is_expected_is_described() {
    let msg = error_of(&with("balance = 100.0", "balance = \"lots\""));
    assert_eq!(
        msg,
        "bad.toml: agents.noise.balance: expected a finite number >= 0, found the string \"lots\""
    );
}

#[test]
fn text_that_is_not_toml_is_a_one_line_syntax_error() {
    let msg = error_of("this is [not toml");
    assert!(
        msg.starts_with("bad.toml: not valid TOML: "),
        "expected the origin and the reason, found {msg:?}"
    );
    assert!(msg.contains("line 1"), "{msg}");
}

#[test]
fn a_scenario_file_that_does_not_exist_is_an_input_error_naming_it() {
    let e = Scenario::from_path("/nonexistent/agora/scenario.toml").unwrap_err();
    assert!(
        e.is_input_error(),
        "the file is the user's input (exit status 2)"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("/nonexistent/agora/scenario.toml: reading the scenario: "),
        "{msg}"
    );
}

#[test]
fn a_file_origin_is_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, with("count = 10", "count = -1")).expect("write");
    let msg = Scenario::from_path(&path).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{}: agents.noise.count: ", path.display())),
        "{msg}"
    );
}

#[test]
fn an_unknown_example_is_an_input_error_listing_the_examples() {
    let e = agora::scenario::example("nope").unwrap_err();
    assert!(e.is_input_error());
    let msg = e.to_string();
    assert!(
        msg.contains("\"nope\"") && msg.contains("token-economy") && msg.contains("reference"),
        "{msg}"
    );
}

/// Overrides from the command line are checked like the file.
#[test]
fn overriding_steps_with_zero_is_an_input_error() {
    let mut s = Scenario::from_toml_str(GOOD, ORIGIN).expect("valid");
    let e = s.set_steps(0).unwrap_err();
    assert!(e.is_input_error());
    assert!(e.to_string().contains("steps"), "{e}");
    assert_eq!(s.simulation().steps, 10, "unchanged on error");
}

/// Regression test for a bug found in review: scheduled changes that are
/// each valid for the initial curve but together make it invalid (m = 0 at
/// step 2, b = 0 at step 3) passed validation, and the run then failed at
/// step 3. They must be rejected when the scenario is read.
#[test]
fn schedule_changes_that_together_zero_a_linear_curve_are_rejected_up_front() {
    let text = with(
        "name = \"TOKEN\"",
        "name = \"TOKEN\"\nschedule = [ { param = \"m\", at = 2, value = 0.0 }, { param = \"b\", at = 3, value = 0.0 } ]",
    );
    match Scenario::from_toml_str(&text, ORIGIN) {
        Err(e) => {
            assert!(e.is_input_error());
            assert!(e.to_string().contains("schedule"), "{e}");
        }
        Ok(scenario) => {
            let run = agora::Simulation::new(&scenario, 0).and_then(|s| s.run());
            panic!(
                "accepted a schedule that zeroes the curve at step 3; the run gives {:?}",
                run.map(|o| o.summary.assets["TOKEN"].final_price)
                    .map_err(|e| e.to_string())
            );
        }
    }
}

const BOOK: &str =
    r#"pricing = { kind = "order_book", tick_size = 0.01, lot_size = 1.0, initial_price = 10.0 }"#;
const CURVE: &str = r#"pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }"#;

#[test]
fn a_negative_price_on_a_market_is_named() {
    let msg = error_of(&with(
        CURVE,
        &BOOK.replace("initial_price = 10.0", "initial_price = -5.0"),
    ));
    assert_names(&msg, "assets.TOKEN.pricing.initial_price", &["> 0", "-5"]);
    let msg = error_of(&with(
        CURVE,
        r#"pricing = { kind = "price_adjustment", rule = "linear", lambda = 0.1, initial_price = 10.0, min_price = -1.0 }"#,
    ));
    assert_names(&msg, "assets.TOKEN.pricing.min_price", &["> 0"]);
    let msg = error_of(&with(
        CURVE,
        r#"pricing = { kind = "equilibrium", price_range = [5.0, 1.0] }"#,
    ));
    assert_names(&msg, "assets.TOKEN.pricing.price_range", &["lo < hi"]);
}

#[test]
fn a_lot_size_or_tick_size_of_zero_is_named() {
    let msg = error_of(&with(
        CURVE,
        &BOOK.replace("lot_size = 1.0", "lot_size = 0.0"),
    ));
    assert_names(&msg, "assets.TOKEN.pricing.lot_size", &["> 0", "found 0"]);
    let msg = error_of(&with(
        CURVE,
        &BOOK.replace("tick_size = 0.01", "tick_size = 1e-12"),
    ));
    assert_names(&msg, "assets.TOKEN.pricing.tick_size", &["one base unit"]);
}

#[test]
fn an_order_for_an_unknown_asset_is_named() {
    let text = with(CURVE, BOOK).replace(
        r#"policy = { kind = "random", asset = "TOKEN""#,
        r#"policy = { kind = "zi_c", role = "buyer", value = { distribution = "constant", value = 5.0 }, asset = "GOLD""#,
    );
    let text = text.replace(
        ", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1",
        "",
    );
    let msg = error_of(&text);
    assert_names(&msg, "agents.noise.policy.asset", &["GOLD", "TOKEN"]);
}

#[test]
fn an_unknown_pricing_kind_lists_the_market_kinds() {
    let msg = error_of(&with(CURVE, r#"pricing = { kind = "dutch_auction" }"#));
    assert_names(
        &msg,
        "assets.TOKEN.pricing.kind",
        &[
            "order_book",
            "call_auction",
            "equilibrium",
            "price_adjustment",
        ],
    );
}

#[test]
fn a_schedule_on_a_market_is_refused() {
    let text = with(
        CURVE,
        &format!("{BOOK}\nschedule = [{{ param = \"m\", at = 2, value = 0.1 }}]"),
    );
    let msg = error_of(&text);
    assert_names(
        &msg,
        "assets.TOKEN.schedule[0].param",
        &["bonding curves only", "order_book"],
    );
}

#[test]
fn a_zi_c_trader_needs_a_role_and_a_value_table() {
    let text = with(
        r#"policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }"#,
        r#"policy = { kind = "zi_c", asset = "TOKEN", role = "trader", value = { distribution = "constant", value = 5.0 } }"#,
    );
    let msg = error_of(&text);
    assert_names(&msg, "agents.noise.policy.role", &["buyer", "seller"]);
}

const RESOURCE: &str = r#"kind = "resource"
capacity = 100.0
pricing = { kind = "fixed", price = 1.0 }"#;

const CONSUMER: &str = r#"policy = { kind = "consumer", asset = "TOKEN", need = { distribution = "constant", value = 1.0 }, value = 2.0 }"#;

const NOISE: &str = r#"policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }"#;

#[test]
fn a_negative_capacity_is_named() {
    let text = with(CURVE, &RESOURCE.replace("100.0", "-5.0")).replace(NOISE, CONSUMER);
    let msg = error_of(&text);
    assert_names(&msg, "assets.TOKEN.capacity", &[">= 0", "-5"]);
}

#[test]
fn a_request_policy_naming_an_unknown_resource_is_named() {
    let text = with(CURVE, RESOURCE).replace(NOISE, &CONSUMER.replace("\"TOKEN\"", "\"GPU\""));
    let msg = error_of(&text);
    assert_names(&msg, "agents.noise.policy.asset", &["GPU", "TOKEN"]);
    let text = with(CURVE, RESOURCE).replace(
        NOISE,
        &CONSUMER.replace("asset = \"TOKEN\"", "assets = [\"TOKEN\", \"GPU\"]"),
    );
    let msg = error_of(&text);
    assert_names(&msg, "agents.noise.policy.assets", &["GPU"]);
}

#[test]
fn a_policy_on_the_wrong_kind_of_asset_is_named() {
    // a consumer on a token
    let msg = error_of(&GOOD.replace(NOISE, CONSUMER));
    assert_names(
        &msg,
        "agents.noise.policy.asset",
        &["resource", "bonding_curve"],
    );
    // a noise trader on a resource
    let msg = error_of(&with(CURVE, RESOURCE));
    assert_names(&msg, "agents.noise.policy.asset", &["token", "resource"]);
    // a ZI-C trader on a curve
    let zic = r#"policy = { kind = "zi_c", asset = "TOKEN", role = "buyer", value = { distribution = "constant", value = 5.0 } }"#;
    let msg = error_of(&GOOD.replace(NOISE, zic));
    assert_names(
        &msg,
        "agents.noise.policy.asset",
        &["market-clearing", "bonding_curve"],
    );
}

#[test]
fn an_auction_price_needs_the_auction_allocation() {
    let text = with(
        CURVE,
        "kind = \"resource\"\ncapacity = 10.0\nallocation = \"max_min\"\npricing = { kind = \"auction\" }",
    )
    .replace(NOISE, CONSUMER);
    let msg = error_of(&text);
    assert_names(&msg, "assets.TOKEN.allocation", &["auction"]);
    let text = with(
        CURVE,
        &RESOURCE.replace("capacity", "allocation = \"lottery\"\ncapacity"),
    )
    .replace(NOISE, CONSUMER);
    let msg = error_of(&text);
    assert_names(
        &msg,
        "assets.TOKEN.allocation",
        &["lottery", "max_min", "fcfs"],
    );
}

#[test]
fn an_outage_needs_a_resource() {
    let text = format!("{GOOD}\n[[events]]\nat = 2\nkind = \"outage\"\nasset = \"TOKEN\"\nshare = 0.5\nduration = 3\n");
    let msg = error_of(&text);
    assert_names(&msg, "events[0].asset", &["token", "resource"]);
}

// ---- names: control characters ----

/// Asserts `msg` holds no control character (it is shown escaped).
fn assert_printable(msg: &str) {
    assert!(
        !msg.chars().any(char::is_control),
        "a raw control character in {msg:?}"
    );
}

/// Regression test: ESC, CR and NUL in names were echoed raw to the
/// terminal and into the CSV files. Every name and label is refused, the
/// character shown escaped.
#[test]
fn control_characters_in_names_are_refused_and_shown_escaped() {
    // (the text in the file, the path of the error, the escaped character)
    let cases = [
        (
            with("name = \"TOKEN\"", "name = \"TO\\u001b[31mKEN\""),
            "assets[0].name",
            "'\\u{1b}'",
        ),
        (
            with("group = \"noise\"", "group = \"noise\\r\""),
            "agents[0].group",
            "'\\r'",
        ),
        (
            with("group = \"noise\"", "group = \"no\\u0000ise\""),
            "agents[0].group",
            "'\\0'",
        ),
        (
            with("kind = \"random\"", "kind = \"random\\u007f\""),
            "agents.noise.policy.kind",
            "'\\u{7f}'",
        ),
        (
            format!("name = \"run\\u001b]0;title\\u0007\"\n{GOOD}"),
            "name",
            "'\\u{1b}'",
        ),
        (
            format!("description = \"a \\u202e reversed\"\n{GOOD}"),
            "description",
            "'\\u{202e}'",
        ),
        (
            with("asset = \"TOKEN\"", "asset = \"TOKEN\\u001b\""),
            "agents.noise.policy.asset",
            "'\\u{1b}'",
        ),
    ];
    for (text, path, escaped) in cases {
        let msg = error_of(&text);
        assert_names(&msg, path, &["without control characters", escaped]);
        assert_printable(&msg);
    }
    // free text may span lines
    let text = format!("description = \"line one\\nline two\\tand a tab\"\n{GOOD}");
    Scenario::from_toml_str(&text, ORIGIN).expect("a description may hold newlines and tabs");
}

#[test]
fn an_unknown_key_with_a_control_character_is_shown_escaped() {
    let msg = error_of(&with("seed = 1", "seed = 1\n\"th\\u001breads\" = 4"));
    assert_eq!(
        msg,
        "bad.toml: simulation.\"th\\u{1b}reads\": unknown field; expected one of: evaluation_steps, intelligence, record_every, runs, seed, steps, stop"
    );
}

#[test]
fn a_raw_control_character_in_the_file_is_escaped_in_the_syntax_error() {
    let msg = error_of(&with("seed = 1", "seed = 1\x1b"));
    assert!(msg.starts_with("bad.toml: not valid TOML: "), "{msg}");
    assert_printable(&msg);
}

// ---- whole numbers written as floats ----

/// Regression test: `steps = 150.0` said "expected a whole number … found
/// 150", which reads as if 150 were wrong.
#[test]
fn a_float_for_a_whole_number_is_shown_as_written_with_the_fix() {
    let msg = error_of(&with("steps = 10", "steps = 150.0"));
    assert_eq!(
        msg,
        "bad.toml: simulation.steps: expected a whole number from 1 to 9223372036854775807, \
         found 150.0 (a float); write 150"
    );
    let msg = error_of(&with("count = 10", "count = 1e3"));
    assert_names(
        &msg,
        "agents.noise.count",
        &["found 1000.0 (a float); write 1000"],
    );
    // out of range or fractional: no suggestion that would fail again
    let msg = error_of(&with("count = 10", "count = 5e9"));
    assert_names(&msg, "agents.noise.count", &["found 5000000000.0"]);
    assert!(!msg.contains("write"), "{msg}");
    let msg = error_of(&with("count = 10", "count = 1.5"));
    assert!(msg.ends_with("found 1.5"), "{msg}");
}

// ---- the size of a scenario file ----

/// Regression test: a scenario path naming `/dev/zero` was read until
/// memory ran out (2 GB).
#[cfg(unix)]
#[test]
fn reading_a_scenario_stops_at_the_size_cap() {
    let cap = agora::scenario::MAX_SCENARIO_BYTES;
    assert_eq!(cap, 64 << 20, "the README states 64 MiB");
    let e = Scenario::from_path("/dev/zero").unwrap_err();
    assert!(e.is_input_error());
    assert_eq!(
        e.to_string(),
        "/dev/zero: the file is larger than 64 MiB, the most a scenario file may be; is it the scenario?"
    );
    // a file of exactly the cap is read (and then parsed: TOML comments)
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    let mut text = GOOD.to_string();
    let filler = cap as usize - text.len();
    text.push('#');
    text.push_str(&" ".repeat(filler - 1));
    assert_eq!(text.len() as u64, cap);
    std::fs::write(&path, &text).unwrap();
    Scenario::from_path(&path).expect("a file of 64 MiB is read");
    text.push(' ');
    std::fs::write(&path, &text).unwrap();
    let msg = Scenario::from_path(&path).unwrap_err().to_string();
    assert!(msg.contains("larger than 64 MiB"), "{msg}");
}

// ---- many groups ----

/// `n` groups of one agent named `g0`, `g1`, …, then `extra`.
fn many_groups(n: usize, extra: &str) -> String {
    let mut text = String::from(
        "[simulation]\nsteps = 10\nseed = 1\n[[assets]]\nname = \"T\"\n\
         pricing = { kind = \"bonding_curve\", curve = \"linear\", m = 0.001, b = 1.0 }\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "[[agents]]\ngroup = \"g{i}\"\ncount = 1\nbalance = 10.0\npolicy = {{ kind = \"random\", \
             asset = \"T\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }}\n"
        ));
    }
    text + extra
}

/// The checks that looked names up by scanning (quadratic in the number of
/// groups; 200,000 groups took over 60 s) now use maps: they still find a
/// duplicate far from its twin, an unknown group, and a second join, and
/// a list of 20,000 names is not pasted into the message. (The time is
/// measured by `cargo bench -p agora --bench validate`.)
#[test]
fn checks_over_many_groups_still_find_duplicates_and_unknown_names() {
    let n = 20_000;
    let s = Scenario::from_toml_str(&many_groups(n, ""), ORIGIN).expect("valid");
    assert_eq!(s.groups().len(), n);

    let dup = many_groups(
        n,
        "[[agents]]\ngroup = \"g7\"\ncount = 1\nbalance = 1.0\npolicy = { kind = \"random\", \
         asset = \"T\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }\n",
    );
    assert_eq!(
        error_of(&dup),
        "bad.toml: agents.g7.group: duplicate group name \"g7\""
    );

    let unknown = many_groups(
        n,
        "[[events]]\nat = 2\nkind = \"join\"\ngroup = \"nobody\"\n",
    );
    let msg = error_of(&unknown);
    assert_eq!(
        msg,
        "bad.toml: events[0].group: unknown group \"nobody\"; expected one of the scenario's \
         groups: g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, … (20000 in all)"
    );

    let twice = many_groups(
        n,
        "[[events]]\nat = 2\nkind = \"join\"\ngroup = \"g19999\"\n\
         [[events]]\nat = 3\nkind = \"leave\"\ngroup = \"g5\"\n\
         [[events]]\nat = 4\nkind = \"join\"\ngroup = \"g19999\"\n",
    );
    assert_names(
        &error_of(&twice),
        "events[2].group",
        &["group \"g19999\" already has a join event (events[0])"],
    );
    let backwards = many_groups(
        n,
        "[[events]]\nat = 5\nkind = \"leave\"\ngroup = \"g3\"\n\
         [[events]]\nat = 9\nkind = \"join\"\ngroup = \"g3\"\n",
    );
    assert_names(
        &error_of(&backwards),
        "events[1].at",
        &["joins at step 9 and leaves at step 5"],
    );
}

// ---- warnings ----

/// Regression test: an event after the last step validated silently. It is
/// valid (a later `--steps` may reach it) but never happens: a warning.
#[test]
fn events_and_changes_after_the_last_step_are_warnings() {
    let text = with(
        "name = \"TOKEN\"",
        "name = \"TOKEN\"\nschedule = [ { param = \"m\", at = 11, value = 0.002 }, \
         { param = \"m\", at = 10, value = 0.003 }, { param = \"b\", from = 10, to = 20, value = 2.0 }, \
         { param = \"b\", from = 9, to = 20, value = 2.0 } ]",
    ) + "[[events]]\nat = 10\nkind = \"join\"\ngroup = \"noise\"\n\
         [[events]]\nat = 12\nkind = \"dump\"\ngroup = \"noise\"\nasset = \"TOKEN\"\nshare = 0.5\n";
    let mut s = Scenario::from_toml_str(&text, ORIGIN).expect("valid, with warnings");
    let warnings: Vec<String> = s.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "bad.toml: assets.TOKEN.schedule[0].at: step 11 is after the last step (10): the change never happens",
            "bad.toml: assets.TOKEN.schedule[2].from: the ramp starts at step 10, and the last step is 10: the parameter never moves",
            "bad.toml: events[1].at: step 12 is after the last step (10): the dump event never happens",
        ]
    );
    s.set_steps(20).unwrap();
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert!(Scenario::from_toml_str(GOOD, ORIGIN)
        .unwrap()
        .warnings()
        .is_empty());
}

// ---- population games ----

/// A valid population game; each case below breaks one thing in it.
const GAME: &str = r#"
[simulation]
steps = 10
seed = 1

[[assets]]
name = "HD"
kind = "game"
strategies = ["hawk", "dove"]
payoffs = [[-25.0, 50.0], [0.0, 15.0]]
pool = 100.0

[[agents]]
group = "birds"
count = 10
balance = 100.0
policy = { kind = "player", asset = "HD", shares = { hawk = 0.25, dove = 0.75 }, revision = "imitation", rate = 0.5 }
"#;

fn game_with(from: &str, to: &str) -> String {
    assert_eq!(GAME.matches(from).count(), 1, "{from:?} must occur once");
    GAME.replacen(from, to, 1)
}

#[test]
fn population_game_input_errors_name_the_field() {
    Scenario::from_toml_str(GAME, ORIGIN).expect("the good game is accepted");
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "[[-25.0, 50.0], [0.0, 15.0]]",
            "[[-25.0, 50.0], [0.0]]",
            "assets.HD.payoffs[1]",
            &["the matrix must be rectangular", "expected 2 numbers"],
        ),
        (
            "[[-25.0, 50.0], [0.0, 15.0]]",
            "[[-25.0, 50.0, 1.0], [0.0, 15.0, 1.0]]",
            "assets.HD.payoffs",
            &["expected a square matrix", "2x3"],
        ),
        (
            "[[-25.0, 50.0], [0.0, 15.0]]",
            "[[-25.0, nan], [0.0, 15.0]]",
            "assets.HD.payoffs[0][1]",
            &["expected a finite number"],
        ),
        (
            "strategies = [\"hawk\", \"dove\"]",
            "strategies = [\"hawk\"]",
            "assets.HD.strategies",
            &["expected 2 labels"],
        ),
        (
            "strategies = [\"hawk\", \"dove\"]",
            "strategies = [\"hawk\", \"hawk\"]",
            "assets.HD.strategies[1]",
            &["appears twice"],
        ),
        (
            "payoffs = [[-25.0, 50.0], [0.0, 15.0]]",
            "",
            "assets.HD.payoffs",
            &["missing field", "game = \"FILE\""],
        ),
        ("pool = 100.0", "pool = -1.0", "assets.HD.pool", &[">= 0"]),
        (
            "pool = 100.0",
            "pool = 100.0\ngroup_size = 1",
            "assets.HD.group_size",
            &["2"],
        ),
        (
            "pool = 100.0",
            "pool = 100.0\npricing = { kind = \"bonding_curve\" }",
            "assets.HD.pricing",
            &["played, not traded"],
        ),
        (
            "hawk = 0.25, dove = 0.75",
            "hawk = 0.25, dove = 0.5",
            "agents.birds.policy.shares",
            &["must sum to 1", "0.75"],
        ),
        (
            "hawk = 0.25, dove = 0.75",
            "hawk = -0.25, dove = 1.25",
            "agents.birds.policy.shares.hawk",
            &["-0.25", ">= 0"],
        ),
        (
            "hawk = 0.25, dove = 0.75",
            "hawk = 0.25, eagle = 0.75",
            "agents.birds.policy.shares.eagle",
            &["unknown strategy \"eagle\"", "hawk, dove"],
        ),
        (
            "hawk = 0.25, dove = 0.75",
            "hawk = 0.25, dove = \"most\"",
            "agents.birds.policy.shares.dove",
            &["expected a number"],
        ),
        (
            "revision = \"imitation\"",
            "revision = \"copy\"",
            "agents.birds.policy.revision",
            &["imitation, best_response, logit"],
        ),
        (
            "revision = \"imitation\"",
            "revision = \"logit\"",
            "agents.birds.policy.eta",
            &["missing field"],
        ),
        (
            "rate = 0.5",
            "rate = 1.5",
            "agents.birds.policy.rate",
            &["1.5"],
        ),
        (
            "rate = 0.5",
            "rate = 0.5, eta = 1.0",
            "agents.birds.policy.eta",
            &["unknown field"],
        ),
    ];
    for (from, to, path, parts) in cases {
        let msg = error_of(&game_with(from, to));
        assert_names(&msg, path, parts);
    }
}

#[test]
fn a_player_plays_only_a_game_and_a_game_is_only_played() {
    let player_on_token = with(
        "policy = { kind = \"random\", asset = \"TOKEN\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }",
        "policy = { kind = \"player\", asset = \"TOKEN\", shares = { a = 1.0 }, revision = \"imitation\", rate = 0.5 }",
    );
    assert_names(
        &error_of(&player_on_token),
        "agents.noise.policy.asset",
        &["a player policy trades a population game", "bonding_curve"],
    );
    let held = game_with(
        "balance = 100.0\npolicy = { kind = \"player\"",
        "balance = 100.0\nholdings = { asset = \"HD\", total = 5.0, distribution = \"uniform\" }\npolicy = { kind = \"player\"",
    );
    assert_names(
        &error_of(&held),
        "agents.birds.holdings",
        &["\"HD\" is a population game: it is played, not held"],
    );
    let trader_on_game = game_with(
        "policy = { kind = \"player\", asset = \"HD\", shares = { hawk = 0.25, dove = 0.75 }, revision = \"imitation\", rate = 0.5 }",
        "policy = { kind = \"random\", asset = \"HD\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }",
    );
    assert_names(
        &error_of(&trader_on_game),
        "agents.birds.policy.asset",
        &["a random policy trades a token", "\"HD\" is priced by game"],
    );
}

#[test]
fn a_game_file_must_exist_and_be_symmetric() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        std::fs::write(dir.path().join(name), body).unwrap();
    };
    write(
        "pd.toml",
        "[game]\nstrategies = [\"c\", \"d\"]\nrow = [[3, 0], [5, 1]]\ncolumn = [[3, 5], [0, 1]]\n",
    );
    write(
        "bos.toml",
        "[game]\nrow = [[2, 0], [0, 1]]\ncolumn = [[1, 0], [0, 2]]\n",
    );
    let scenario = |game: &str, shares: &str| {
        let text = GAME
            .replace(
                "strategies = [\"hawk\", \"dove\"]\npayoffs = [[-25.0, 50.0], [0.0, 15.0]]",
                &format!("game = \"{game}\""),
            )
            .replace("hawk = 0.25, dove = 0.75", shares);
        let path = dir.path().join("s.toml");
        std::fs::write(&path, text).unwrap();
        Scenario::from_path(&path)
    };
    let s = scenario("pd.toml", "c = 0.5, d = 0.5").expect("a symmetric game file");
    assert_eq!(s.to_table()["assets"][0].get("game"), None, "inlined");
    let e = scenario("bos.toml", "1 = 1.0").unwrap_err().to_string();
    assert!(
        e.contains("assets.HD.game: the game in") && e.contains("is not symmetric"),
        "{e}"
    );
    let e = scenario("missing.toml", "c = 1.0").unwrap_err().to_string();
    assert!(e.contains("assets.HD.game: reading the game file"), "{e}");
}

// ---- learners ----

/// `GOOD` with the noise traders replaced by learners of `policy`, and an
/// order book `BOOK` and a resource `CPU` beside the curve `TOKEN`.
fn learner(policy: &str) -> String {
    with(
        "policy = { kind = \"random\", asset = \"TOKEN\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }",
        &format!("policy = {{ {policy} }}"),
    )
    .replace(
        "[[agents]]",
        "[[assets]]\nname = \"BOOK\"\npricing = { kind = \"order_book\", tick_size = 0.01, lot_size = 0.01, initial_price = 10.0 }\n\
         [[assets]]\nname = \"CPU\"\nkind = \"resource\"\ncapacity = 10.0\nallocation = \"proportional\"\n\
         pricing = { kind = \"fixed\", price = 1.0 }\n\n[[agents]]",
    )
}

const Q: &str = "kind = \"q_learning\", asset = \"TOKEN\", actions = [\"hold\", { buy = 0.1 }]";

#[test]
fn the_learner_kinds_are_accepted_on_the_assets_their_actions_fit() {
    for policy in [
        format!("{Q}, alpha = 0.1, delta = 0.9, epsilon = 0.1"),
        format!("{Q}, alpha = 0.1, delta = 0.9, beta = 1e-4, memory = 2, bins = 5, trend = 10, position = true, q0 = 1"),
        "kind = \"bandit\", asset = \"BOOK\", actions = [{ bid = -0.01, size = 1.0 }, { ask = 0.01, size = 1.0 }, { buy = 0.1 }], algorithm = \"thompson\", likelihood = \"bernoulli\", ttl = 3".into(),
        "kind = \"policy_gradient\", asset = \"CPU\", actions = [\"hold\", { request = 1.0, max_price = 2.0 }], learning_rate = 0.1".into(),
    ] {
        Scenario::from_toml_str(&learner(&policy), ORIGIN)
            .unwrap_or_else(|e| panic!("{policy}: {e}"));
    }
}

#[test]
fn a_learning_rate_or_exploration_outside_the_unit_interval_is_named() {
    let path = "agents.noise.policy";
    let cases = [
        (
            "alpha = 1.5, delta = 0.9, epsilon = 0.1",
            "alpha",
            "expected a number from 0 to 1, found 1.5",
        ),
        (
            "alpha = -0.1, delta = 0.9, epsilon = 0.1",
            "alpha",
            "expected a number from 0 to 1, found -0.1",
        ),
        (
            "alpha = 0.1, delta = 0.9, epsilon = 1.01",
            "epsilon",
            "expected a number from 0 to 1, found 1.01",
        ),
        (
            "alpha = 0.1, delta = 0.9, epsilon = -0.5",
            "epsilon",
            "expected a number from 0 to 1, found -0.5",
        ),
        (
            "alpha = 0.1, delta = 1.0, epsilon = 0.1",
            "delta",
            "expected a number >= 0 and < 1, found 1",
        ),
        (
            "alpha = 0.1, delta = -0.2, epsilon = 0.1",
            "delta",
            "expected a number >= 0 and < 1, found -0.2",
        ),
        (
            "alpha = 0.1, delta = 0.9, beta = -1.0",
            "beta",
            "expected a finite number >= 0, found -1",
        ),
        (
            "alpha = 0.1, delta = 0.9, epsilon = 0.1, beta = 1e-5",
            "beta",
            "not both",
        ),
        (
            "alpha = 0.1, delta = 0.9",
            "epsilon",
            "missing field; expected epsilon",
        ),
    ];
    for (fields, key, expected) in cases {
        let msg = error_of(&learner(&format!("{Q}, {fields}")));
        assert_names(&msg, &format!("{path}.{key}"), &[expected]);
    }
    let msg = error_of(&learner(
        "kind = \"bandit\", asset = \"TOKEN\", actions = [\"hold\"], algorithm = \"epsilon_greedy\", epsilon = 2.0",
    ));
    assert_names(
        &msg,
        "agents.noise.policy.epsilon",
        &["from 0 to 1, found 2"],
    );
}

#[test]
fn an_empty_or_malformed_action_set_is_named() {
    let path = "agents.noise.policy";
    let q = |actions: &str| {
        format!("kind = \"q_learning\", asset = \"TOKEN\", actions = {actions}, alpha = 0.1, delta = 0.9, epsilon = 0.1")
    };
    let cases = [
        (q("[]"), "actions", "expected at least one action"),
        (q("\"hold\""), "actions", "expected an array of actions"),
        (
            q("[\"wait\"]"),
            "actions[0]",
            "expected an action, \"hold\", { buy = f }",
        ),
        (
            q("[\"hold\", { buy = 0.1, sell = 0.1 }]"),
            "actions[1]",
            "one action per entry: this table has buy and sell",
        ),
        (
            q("[{ buy = 0.0 }]"),
            "actions[0].buy",
            "above 0 and at most 1, found 0",
        ),
        (
            q("[{ sell = 1.5 }]"),
            "actions[0].sell",
            "expected a number from 0 to 1, found 1.5",
        ),
        (
            q("[{ buy = 0.1, size = 2.0 }]"),
            "actions[0].size",
            "unknown field; expected one of: buy",
        ),
        (
            q("[{ size = 2.0 }]"),
            "actions[0]",
            "found a table without any",
        ),
        (
            "kind = \"q_learning\", asset = \"TOKEN\", alpha = 0.1, delta = 0.9, epsilon = 0.1"
                .into(),
            "actions",
            "missing field; expected an array of actions",
        ),
    ];
    for (policy, key, expected) in cases {
        let msg = error_of(&learner(&policy));
        assert_names(&msg, &format!("{path}.{key}"), &[expected]);
    }
}

#[test]
fn an_action_that_does_not_fit_the_asset_is_named_with_what_fits() {
    let bandit = |asset: &str, actions: &str| {
        format!("kind = \"bandit\", asset = \"{asset}\", actions = {actions}, algorithm = \"ucb1\"")
    };
    let cases = [
        (
            bandit("TOKEN", "[\"hold\", { bid = -0.01, size = 1.0 }]"),
            "actions[1]",
            "a bid action does not fit \"TOKEN\", priced by bonding_curve: a curve takes market orders: { buy = f } and { sell = f }",
        ),
        (
            bandit("TOKEN", "[{ request = 1.0, max_price = 2.0 }]"),
            "actions[0]",
            "a request action does not fit \"TOKEN\", priced by bonding_curve",
        ),
        (
            bandit("BOOK", "[{ request = 1.0, max_price = 2.0 }]"),
            "actions[0]",
            "a request action does not fit \"BOOK\", priced by order_book: a market takes",
        ),
        (
            bandit("CPU", "[{ buy = 0.5 }]"),
            "actions[0]",
            "a buy action does not fit \"CPU\", priced by resource: a resource takes { request = q, max_price = p }",
        ),
        (
            bandit("CPU", "[\"hold\", { ask = 0.1, size = 1.0 }]"),
            "actions[1]",
            "an ask action",
        ),
        (
            bandit("BOOK", "[{ bid = -1.0, size = 1.0 }]"),
            "actions[0].bid",
            "above -1 (a price above 0), found -1",
        ),
        (
            bandit("BOOK", "[{ ask = 0.1, size = 0.0 }]"),
            "actions[0].size",
            "expected a finite number > 0, found 0",
        ),
    ];
    for (policy, key, expected) in cases {
        let msg = error_of(&learner(&policy));
        assert_names(&msg, &format!("agents.noise.policy.{key}"), &[expected]);
    }
}

#[test]
fn a_learners_other_fields_are_checked() {
    let cases = [
        (
            format!("{Q}, alpha = 0.1, delta = 0.9, epsilon = 0.1, q0 = \"uniform_opponents\""),
            "q0",
            "\"TOKEN\" is priced by bonding_curve, where a learner plays the market, not opponents: give a number",
        ),
        (
            format!("{Q}, alpha = 0.1, delta = 0.9, epsilon = 0.1, q0 = \"zero\""),
            "q0",
            "expected a finite number or \"uniform_opponents\", found the string \"zero\"",
        ),
        (
            format!("{Q}, alpha = 0.1, delta = 0.9, epsilon = 0.1, memory = 30, bins = 5"),
            "memory",
            "lower memory or bins",
        ),
        (
            format!("{Q}, alpha = 0.1, delta = 0.9, epsilon = 0.1, bins = 0"),
            "bins",
            "expected a whole number from 1 to 1000, found 0",
        ),
        (
            format!("{Q}, alpha = 0.1, delta = 0.9, epsilon = 0.1, trend = 1"),
            "trend",
            "expected a whole number from 2 to 1000000, found 1",
        ),
        (
            "kind = \"bandit\", asset = \"TOKEN\", actions = [\"hold\"], algorithm = \"greedy\"".into(),
            "algorithm",
            "unknown value \"greedy\"; expected one of: epsilon_greedy, ucb1, thompson",
        ),
        (
            "kind = \"bandit\", asset = \"TOKEN\", actions = [\"hold\"], algorithm = \"ucb1\", epsilon = 0.1".into(),
            "epsilon",
            "unknown field; expected one of: actions, algorithm, asset, kind, ttl",
        ),
        (
            "kind = \"bandit\", asset = \"TOKEN\", actions = [\"hold\"], algorithm = \"thompson\", likelihood = \"poisson\"".into(),
            "likelihood",
            "unknown likelihood \"poisson\"; expected one of: gaussian, bernoulli",
        ),
        (
            "kind = \"policy_gradient\", asset = \"TOKEN\", actions = [\"hold\"], learning_rate = 0.0".into(),
            "learning_rate",
            "expected a finite number > 0, found 0",
        ),
        (
            "kind = \"policy_gradient\", asset = \"GOLD\", actions = [\"hold\"], learning_rate = 0.1".into(),
            "asset",
            "unknown asset \"GOLD\"",
        ),
    ];
    for (policy, key, expected) in cases {
        let msg = error_of(&learner(&policy));
        assert_names(&msg, &format!("agents.noise.policy.{key}"), &[expected]);
    }
}

// ---- incentive rules ----

/// `GOOD` with one `[[incentives]]` rule of `body`.
fn with_incentive(body: &str) -> String {
    format!("{GOOD}\n[[incentives]]\nname = \"hold\"\n{body}\n")
}

const HOLD: &str = "kind = \"holding_reward\"\nasset = \"TOKEN\"\nrate = 0.01";
const MONEY: &str = "funding = { kind = \"treasury\", currency = \"money\", amount = 100.0 }";

#[test]
fn a_negative_incentive_rate_or_budget_is_named() {
    let msg = error_of(&with_incentive(&format!(
        "kind = \"holding_reward\"\nasset = \"TOKEN\"\nrate = -0.01\n{MONEY}"
    )));
    assert_eq!(
        msg,
        "bad.toml: incentives.hold.rate: expected a number from 0 to 18000000000, found -0.01"
    );
    // a rate whose base units pass 64 bits (once read as 1.8e10, silently),
    // of each rule that pays at a rate; 1.8e10 itself is read
    for kind in [
        "holding_reward",
        "staking",
        "volume_reward",
        "participation_reward",
    ] {
        for rate in ["1e300", "1.9e10"] {
            let msg = error_of(&with_incentive(&format!(
                "kind = \"{kind}\"\nasset = \"TOKEN\"\nrate = {rate}\n{MONEY}"
            )));
            assert_names(
                &msg,
                "incentives.hold.rate",
                &["a number from 0 to 18000000000"],
            );
        }
        if kind == "participation_reward" {
            continue; // its default `per` needs an order book
        }
        let text = with_incentive(&format!(
            "kind = \"{kind}\"\nasset = \"TOKEN\"\nrate = 1.8e10\n{MONEY}"
        ));
        Scenario::from_toml_str(&text, "bad.toml").unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    let msg = error_of(&with_incentive(&format!(
        "{HOLD}\nfunding = {{ kind = \"treasury\", currency = \"money\", amount = -5.0 }}"
    )));
    assert_eq!(
        msg,
        "bad.toml: incentives.hold.funding.amount: expected a finite number >= 0, found -5"
    );
    let msg = error_of(&with_incentive(&format!(
        "{HOLD}\nfunding = {{ kind = \"emission\", asset = \"TOKEN\", schedule = \"halving\", per_step = 1.0, every = 10, cap = -1.0 }}"
    )));
    assert_names(&msg, "incentives.hold.funding.cap", &[">= 0", "-1"]);
}

#[test]
fn an_unknown_incentive_group_asset_kind_or_currency_is_named() {
    let msg = error_of(&with_incentive(&format!(
        "{HOLD}\ngroup = \"whales\"\n{MONEY}"
    )));
    assert_eq!(
        msg,
        "bad.toml: incentives.hold.group: unknown group \"whales\"; expected one of the scenario's groups: noise"
    );
    let msg = error_of(&with_incentive(&format!(
        "kind = \"holding_reward\"\nasset = \"GOLD\"\nrate = 0.01\n{MONEY}"
    )));
    assert_names(
        &msg,
        "incentives.hold.asset",
        &["unknown asset \"GOLD\"", "TOKEN"],
    );
    let msg = error_of(&with_incentive(&format!(
        "kind = \"airdrop\"\nasset = \"TOKEN\"\n{MONEY}"
    )));
    assert_names(
        &msg,
        "incentives.hold.kind",
        &["\"airdrop\"", "holding_reward", "staking"],
    );
    let msg = error_of(&with_incentive(&format!(
        "{HOLD}\nfunding = {{ kind = \"treasury\", currency = \"GOLD\", amount = 1.0 }}"
    )));
    assert_names(
        &msg,
        "incentives.hold.funding.currency",
        &["\"GOLD\"", "money", "TOKEN"],
    );
    let msg = error_of(&with_incentive(&format!(
        "{HOLD}\nfunding = {{ kind = \"emission\", asset = \"TOKEN\", schedule = \"cliff\", per_step = 1.0, cap = 1.0 }}"
    )));
    assert_names(
        &msg,
        "incentives.hold.funding.schedule",
        &["\"cliff\"", "halving"],
    );
}

#[test]
fn an_incentive_without_funding_or_with_funding_it_cannot_use_is_named() {
    let msg = error_of(&with_incentive(HOLD));
    assert_names(
        &msg,
        "incentives.hold.funding",
        &["missing field", "holding_reward"],
    );
    let msg = error_of(&with_incentive(&format!(
        "kind = \"burn\"\nasset = \"TOKEN\"\nshare = 0.5\n{MONEY}"
    )));
    assert_names(&msg, "incentives.hold.funding", &["pays nothing"]);
    let msg = error_of(&with_incentive(
        "kind = \"early_sell_penalty\"\nasset = \"TOKEN\"\nrate = 0.1\nwithin = 3\nto = \"void\"",
    ));
    assert_names(&msg, "incentives.hold.to", &["treasury", "burn"]);
    let msg = error_of(&with_incentive(
        "kind = \"staking\"\nasset = \"TOKEN\"\nrate = 0.1\nshare = 1.5\nfunding = { kind = \"treasury\", currency = \"TOKEN\", amount = 1.0 }",
    ));
    assert_names(&msg, "incentives.hold.share", &["1.5"]);
    let msg = error_of(&format!(
        "{}\n[[incentives]]\nname = \"hold\"\n{HOLD}\n{MONEY}\n",
        with_incentive(&format!("{HOLD}\n{MONEY}"))
    ));
    assert_names(
        &msg,
        "incentives.hold.name",
        &["names another incentive rule"],
    );
    let msg = error_of(&with_incentive(&format!("{HOLD}\n{MONEY}\nbonus = 1")));
    assert_names(
        &msg,
        "incentives.hold.bonus",
        &["unknown field", "min_holding"],
    );
}

#[test]
fn a_slashing_without_its_staking_rule_or_a_participation_reward_without_a_book_is_named() {
    let msg = error_of(&with_incentive(
        "kind = \"slashing\"\nasset = \"TOKEN\"\nstaking = \"bond\"\nshare = 0.5\nsell_share = 0.5",
    ));
    assert_names(
        &msg,
        "incentives.hold.staking",
        &["\"bond\"", "staking", "TOKEN"],
    );
    let msg = error_of(&with_incentive(&format!(
        "kind = \"participation_reward\"\nasset = \"TOKEN\"\nrate = 0.1\n{MONEY}"
    )));
    assert_names(&msg, "incentives.hold.per", &["\"TOKEN\"", "order_book"]);
}

#[test]
fn a_trade_guard_on_a_mempool_asset_is_refused_naming_the_asset() {
    let base = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "sandwich")
        .unwrap()
        .toml;
    for rule in [
        "kind = \"transaction_tax\"\nrate = 0.01",
        "kind = \"price_band\"\nmax_move = 0.1",
        "kind = \"position_limit\"\nmax_share = 0.1",
    ] {
        let text = format!("{base}\n[[governance]]\nname = \"guard\"\nasset = \"AGT\"\n{rule}\n");
        let msg = error_of(&text);
        assert!(
            msg.contains("governance.guard.asset") && msg.contains("mempool"),
            "{msg}"
        );
    }
}

// ---- collusion (cartel, hoarder) ----

/// The `cartel` example with `from` replaced by `to` (once).
fn cartel_with(from: &str, to: &str) -> String {
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "cartel")
        .map(|e| e.toml)
        .unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

#[test]
fn a_cartel_on_a_curve_is_refused_naming_the_asset_and_its_pricing() {
    let msg = error_of(&with(
        "kind = \"random\", asset = \"TOKEN\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1",
        "kind = \"cartel\", asset = \"TOKEN\"",
    ));
    assert_names(
        &msg,
        "agents.noise.policy.asset",
        &[
            "cartel",
            "posted_price",
            "resource",
            "\"TOKEN\"",
            "bonding_curve",
        ],
    );
}

#[test]
fn a_withheld_share_outside_zero_to_one_is_refused() {
    for bad in ["-0.1", "1.5"] {
        let msg = error_of(&cartel_with(
            "withhold = 0.375",
            &format!("withhold = {bad}"),
        ));
        assert_names(
            &msg,
            "agents.producers.policy.withhold",
            &["from 0 to 1", bad],
        );
    }
    // Missing: named too.
    let msg = error_of(&cartel_with(", withhold = 0.375", ""));
    assert_names(&msg, "agents.producers.policy.withhold", &["missing"]);
}

#[test]
fn a_cartels_unknown_keys_are_refused_for_each_market() {
    // A posted-price cartel withholds nothing: its market sets quantities.
    let msg = error_of(&cartel_with(
        "policy = { kind = \"cartel\", asset = \"GOOD\" }",
        "policy = { kind = \"cartel\", asset = \"GOOD\", withhold = 0.5 }",
    ));
    assert_names(&msg, "agents.firms.policy.withhold", &["unknown field"]);
    // A resource cartel does not punish.
    let msg = error_of(&cartel_with(
        "withhold = 0.375",
        "withhold = 0.375, punish = true",
    ));
    assert_names(&msg, "agents.producers.policy.punish", &["unknown field"]);
    // A posted-price cartel's sellers need their cost, as every seller does.
    let msg = error_of(&cartel_with("cost = 1.0\n", ""));
    assert_names(&msg, "agents.firms.cost", &["missing", "marginal cost"]);
}

#[test]
fn a_best_response_seller_off_a_posted_price_market_is_refused() {
    let msg = error_of(&with(
        "kind = \"random\", asset = \"TOKEN\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1",
        "kind = \"best_response\", asset = \"TOKEN\"",
    ));
    assert_names(
        &msg,
        "agents.noise.policy.asset",
        &[
            "best_response",
            "posted_price",
            "\"TOKEN\"",
            "bonding_curve",
        ],
    );
}

#[test]
fn a_hoarder_off_a_resource_or_without_a_price_is_refused() {
    let msg = error_of(&cartel_with(
        "kind = \"hoarder\", asset = \"GPU\"",
        "kind = \"hoarder\", asset = \"GOOD\"",
    ));
    assert_names(
        &msg,
        "agents.hoarders.policy.asset",
        &["hoarder", "resource", "\"GOOD\"", "posted_price"],
    );
    let msg = error_of(&cartel_with(", max_price = 4.0", ""));
    assert_names(&msg, "agents.hoarders.policy.max_price", &["missing"]);
    let msg = error_of(&cartel_with("quantity = 50.0", "quantity = 0.0"));
    assert_names(&msg, "agents.hoarders.policy.quantity", &["0"]);
    let msg = error_of(&cartel_with(
        "max_price = 4.0",
        "max_price = 4.0, need = 1.0",
    ));
    assert_names(&msg, "agents.hoarders.policy.need", &["unknown field"]);
}

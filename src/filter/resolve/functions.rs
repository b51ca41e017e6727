//! Filter functions (PocketBase's `tools/search/token_functions.go`): `geoDistance` and
//! `strftime`. Arguments resolve like any operand; the results are SQL expressions.

use crate::filter::Operand;
use crate::filter::resolve::{Ctx, Fallback, Multi, Resolved, Scope};
use crate::filter::sql::{Frag, ResolveError};

/// PocketBase's cap on `strftime` arguments.
const MAX_STRFTIME_ARGS: usize = 10;

fn argument_error(message: String) -> ResolveError {
    ResolveError::FunctionArgument(message)
}

impl<'a> Ctx<'a> {
    /// A function call operand.
    pub(super) fn function(
        &mut self,
        scope: &Scope<'a>,
        name: &str,
        args: &[Operand],
    ) -> Result<Resolved, ResolveError> {
        match name {
            "geoDistance" => self.geo_distance(scope, args),
            "strftime" => self.strftime(scope, args),
            _ => Err(ResolveError::UnknownFunction(name.to_string())),
        }
    }

    /// `geoDistance(lonA, latA, lonB, latB)`: haversine distance in km (the cosine form
    /// PocketBase emits, clamped into `acos`'s domain). Multi-valued arguments match if any
    /// item does, as in PocketBase.
    fn geo_distance(
        &mut self,
        scope: &Scope<'a>,
        args: &[Operand],
    ) -> Result<Resolved, ResolveError> {
        if args.len() != 4 {
            return Err(argument_error(format!(
                "[geoDistance] expected 4 arguments, got {}",
                args.len()
            )));
        }
        let mut resolved = Vec::with_capacity(4);
        for (i, arg) in args.iter().enumerate() {
            if !matches!(
                arg,
                Operand::Identifier(_) | Operand::Keyword { .. } | Operand::Number { .. }
            ) {
                return Err(argument_error(format!(
                    "[geoDistance] argument {i} must be an identifier or number"
                )));
            }
            let value = self.operand(scope, arg).map_err(|e| {
                argument_error(format!("[geoDistance] failed to resolve argument {i}: {e}"))
            })?;
            resolved.push(value.frag);
        }
        let [lon_a, lat_a, lon_b, lat_b] = [&resolved[0], &resolved[1], &resolved[2], &resolved[3]];
        let radians = |f: &Frag| Frag::wrap("radians(", f, ")");
        let call = |name: &str, f: Frag| Frag::wrap(&format!("{name}("), &f, ")");
        let mut sum = call("cos", radians(lat_a));
        sum.push_str(" * ")
            .push(&call("cos", radians(lat_b)))
            .push_str(" * ");
        let mut delta = radians(lon_b);
        delta.push_str(" - ").push(&radians(lon_a));
        sum.push(&call("cos", delta)).push_str(" + ");
        sum.push(&call("sin", radians(lat_a)))
            .push_str(" * ")
            .push(&call("sin", radians(lat_b)));
        let sql = Frag::wrap("(6371 * acos(min(1, max(-1, ", &sum, "))))");
        Ok(Resolved::new(sql, Fallback::Disabled))
    }

    /// `strftime(format, [time-value, modifiers…])`, SQLite's function; a multi-valued
    /// time-value keeps its "every item" constraint.
    fn strftime(&mut self, scope: &Scope<'a>, args: &[Operand]) -> Result<Resolved, ResolveError> {
        let total = args.len();
        if total < 1 {
            return Err(argument_error(format!(
                "[strftime] expected at least 1 arguments, got {total}"
            )));
        }
        if total > MAX_STRFTIME_ARGS {
            return Err(argument_error(format!(
                "[strftime] too many arguments (max allowed {MAX_STRFTIME_ARGS}, got {total})"
            )));
        }
        if !matches!(args[0], Operand::Text(_)) {
            return Err(argument_error(
                "[strftime] expects the first argument to be a format string".into(),
            ));
        }
        let format = self.operand(scope, &args[0]).map_err(|e| {
            argument_error(format!("[strftime] failed to resolve format argument: {e}"))
        })?;
        if total == 1 {
            let sql = Frag::wrap("strftime(", &format.frag, ")");
            return Ok(Resolved::new(sql, Fallback::Enforced));
        }
        if matches!(args[1], Operand::Function { .. }) {
            return Err(argument_error(
                "[strftime] expects the second argument to be of a valid time-value type".into(),
            ));
        }
        let time = self.operand(scope, &args[1]).map_err(|e| {
            argument_error(format!(
                "[strftime] failed to resolve time-value argument: {e}"
            ))
        })?;
        let mut modifiers = Vec::with_capacity(total - 2);
        for (i, arg) in args[2..].iter().enumerate() {
            if !matches!(arg, Operand::Text(_)) {
                return Err(argument_error(format!(
                    "[strftime] invalid modifier argument {i} - can be only string"
                )));
            }
            modifiers.push(self.operand(scope, arg)?.frag);
        }
        let call = |time: &Frag| {
            let mut out = Frag::wrap("strftime(", &format.frag, ",");
            out.push(time);
            for modifier in &modifiers {
                out.push_str(",").push(modifier);
            }
            out.push_str(")");
            out
        };
        let mut out = Resolved::new(call(&time.frag), Fallback::Enforced);
        out.multi = time.multi.as_ref().map(|multi| Multi {
            from: multi.from.clone(),
            value: call(&multi.value),
        });
        Ok(out)
    }
}

//! How features are written: in which CRS ([`OutputCrs`]) and with which of the properties the caller
//! sees (`properties=`, docs/DESIGN.md §3.1).

use super::layers::{Layer, Property};
use super::output_crs::OutputCrs;
use crate::domain::roles::Audience;

/// The CRS and the properties of the features of an answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub crs: OutputCrs,
    /// Only these properties (by name); `None`: every property the caller sees.
    pub properties: Option<Vec<&'static str>>,
}

impl View {
    /// The properties written for `audience`, in the layer's order.
    pub fn properties(&self, layer: Layer, audience: Audience) -> Vec<&'static Property> {
        layer
            .visible(audience, false)
            .filter(|p| self.properties.as_ref().is_none_or(|names| names.contains(&p.name)))
            .collect()
    }
}

/// Reads `properties=` (names joined by commas; empty: none): each must be a property of `layer` that
/// `audience` sees, else the message names the unknown ones and the known.
pub fn read_properties(layer: Layer, audience: Audience, text: &str) -> Result<Vec<&'static str>, String> {
    let mut names = Vec::new();
    let mut unknown = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match layer.visible(audience, false).find(|p| p.name == name) {
            Some(p) if !names.contains(&p.name) => names.push(p.name),
            Some(_) => {}
            None => unknown.push(name),
        }
    }
    if unknown.is_empty() {
        return Ok(names);
    }
    let known: Vec<&str> = layer.visible(audience, false).map(|p| p.name).collect();
    Err(format!("{} has no property {}; its properties are {}", layer.name(), unknown.join(", "), known.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_those_the_caller_sees() {
        assert_eq!(
            read_properties(Layer::Farmhouses, Audience::Public, "status, floors"),
            Ok(vec!["status", "floors"])
        );
        assert_eq!(read_properties(Layer::Farmhouses, Audience::Public, ""), Ok(vec![]));
        let staff_only = read_properties(Layer::Farmhouses, Audience::Public, "status,contract_no").unwrap_err();
        assert!(staff_only.contains("no property contract_no"), "{staff_only}");
        assert_eq!(read_properties(Layer::Farmhouses, Audience::Staff, "contract_no"), Ok(vec!["contract_no"]));
        let view = View { properties: Some(vec!["floors", "status"]), ..View::default() };
        let names: Vec<&str> = view.properties(Layer::Farmhouses, Audience::Public).iter().map(|p| p.name).collect();
        assert_eq!(names, ["status", "floors"], "in the layer's order");
    }
}

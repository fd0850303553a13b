"""eco-agent: reads meters on a home or shop device, signs interval readings, delivers them."""

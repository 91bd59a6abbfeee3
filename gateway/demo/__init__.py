"""The demo federation: three agencies (customs, police, intel) with seeded synthetic records in
their own formats, a planted smuggling network ("Operation Lantern") that only shows when the
three are searched together, and the loopback cluster the demo runs on."""

"""Pure wire formats: parse or render bytes and text, never touch the disk or the network."""

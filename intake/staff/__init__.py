"""The reception back office: staff accounts, finding and triaging requests, booking, audit."""

"""Public services (Daseinsvorsorge): what a projection means for Kitas, schools, care, doctors,
fire brigades, housing and the labour force. See ``README.md`` in this folder."""

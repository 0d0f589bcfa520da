"""Web plumbing. Importing it registers the ``{name:id}`` path convertor, which every route with a
row id in its path uses (route modules import ``app.web`` before they declare their routes)."""

from starlette.convertors import IntegerConvertor, register_url_convertor


class IdConvertor(IntegerConvertor):
    """A row id: at most 18 digits, so it fits the BIGINT (and SQLite INTEGER) it is looked up in.
    A longer number matches no route and answers 404, like an id that does not exist."""

    regex = "[0-9]{1,18}"


register_url_convertor("id", IdConvertor())

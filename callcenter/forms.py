from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from core import labels


class AgentSignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your e-mail address."),
                                            Email("Enter a valid e-mail address."),
                                            Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class SecondStepForm(FlaskForm):
    """The second step of a sign-in: an authenticator code or a recovery code."""

    code = StringField("Code", validators=[
        DataRequired("Enter the code from your authenticator app, or a recovery code."),
        Length(max=40, message="A code is 6 digits, a recovery code 16 letters and digits.")])


class SetUpForm(FlaskForm):
    """Enrol an authenticator app; replacing one also asks for a code of the current one."""

    code = StringField("Code the app shows", validators=[
        DataRequired("Enter the 6-digit code your authenticator app shows."),
        Length(max=20, message="The code is 6 digits.")])
    current_code = StringField("Code from your current authenticator app, or a recovery code",
                               validators=[Optional(), Length(max=40)])


class RenewRecoveryCodesForm(FlaskForm):
    code = StringField("Code from your authenticator app", validators=[
        DataRequired("Enter the code from your authenticator app."),
        Length(max=40, message="A code is 6 digits, a recovery code 16 letters and digits.")])


class TimeZoneForm(FlaskForm):
    """The zone the console shows this agent's times in; empty: the console's."""

    time_zone = SelectField("Time zone", validate_choice=False)

    def __init__(self, *args, console_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = [
            SelectChoice("", f"The console's: {labels.zone_label(console_zone)}"),
            *(SelectChoice(z, labels.zone_label(z.partition("/")[2]), optgroup=z.partition("/")[0])
              for z in labels.time_zones())]

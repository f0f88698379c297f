from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class AgentSignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your e-mail address."),
                                            Email("Enter a valid e-mail address."),
                                            Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
